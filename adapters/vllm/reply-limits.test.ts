import type { Context } from '@mariozechner/pi-ai';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { type OpenAiSseServer, withServerPair } from '../../test/doubles/openai-sse-server.ts';
import { endpointSettings } from '../../test/agent/endpoint-settings.ts';
import { EndpointChain } from './endpoint-chain.ts';
import { resolveEndpoint } from './model.ts';

const readTopic = {
  name: 'read_topic',
  description: 'Read a topic.',
  parameters: Type.Object({ topic: Type.String() }),
};
const context: Context = {
  systemPrompt: 'plan',
  messages: [{ role: 'user', content: 'stop the robot', timestamp: Date.now() }],
  tools: [readTopic],
};

describe('EndpointChain: what a model reply may hold', () => {
  let server: OpenAiSseServer;
  let backup: OpenAiSseServer;
  withServerPair((s, b) => ((server = s), (backup = b)));

  it('aborts a 20 MB tool-call argument while it streams, and falls back to the next endpoint', async () => {
    // Past 1 MiB (four times the limit) the server holds the rest until the client goes away: what it sent
    // then depends on when the client aborted, not on how much the loopback socket's buffers took meanwhile.
    const topic = 'x'.repeat(20 * 1024 * 1024);
    const call = { name: 'read_topic', arguments: { topic } };
    server.enqueue({ toolCalls: [call], argumentChunk: 4096, holdAfterBytes: 1024 * 1024 });
    backup.enqueue({ text: 'stopped' });
    // The server and the client share this thread, and the server builds the whole 20 MB reply before it
    // sends any of it: on a loaded machine that outlasts the default 3 s for the response headers, which
    // this test is not about.
    const connect_timeout_ms = 600_000;
    const chain = new EndpointChain({
      endpoints: [
        resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, retries: 2, connect_timeout_ms })),
        resolveEndpoint(endpointSettings({ name: 'gateway', base_url: backup.baseUrl, connect_timeout_ms })),
      ],
    });
    const message = await chain.stream(context).result();
    expect(message.content).toMatchObject([{ type: 'text', text: 'stopped' }]);
    // The same endpoint is not asked again: a model that wrote this once will write it again.
    expect(server.chats).toHaveLength(1);
    expect(chain.health()[0]!.last_error).toMatch(
      /^tool-call arguments for read_topic over 262144 bytes \(llm.max_tool_argument_bytes\) from local \(http:/,
    );
    // Aborted while streaming: most of the body was never read, let alone held.
    const { bytesSent, bytesTotal, leftEarly } = server.chats[0]!;
    expect(leftEarly).toBe(true);
    expect(bytesTotal).toBeGreaterThan(20 * 1024 * 1024);
    expect(bytesSent).toBeLessThan(bytesTotal / 2);
  });

  it('fails the request with the reason when the whole reply is over max_reply_bytes', async () => {
    server.enqueue({ text: 'blah '.repeat(40_000) });
    // As above: under load the response headers of a 200 kB reply can outlast the default 3 s.
    const connect_timeout_ms = 600_000;
    const chain = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, connect_timeout_ms }))],
      limits: { max_tool_argument_bytes: 1024, max_reply_bytes: 65_536 },
    });
    const message = await chain.stream(context).result();
    expect(message.stopReason).toBe('error');
    expect(message.errorMessage).toMatch(
      /^no model endpoint answered: local attempt 1: the reply is over 65536 bytes \(llm.max_reply_bytes\) from local/,
    );
    expect(server.chats).toHaveLength(1);
  });

  it('lets a reply just under the limits through whole', async () => {
    const topic = 'y'.repeat(1000);
    server.enqueue({ toolCalls: [{ name: 'read_topic', arguments: { topic } }] });
    const chain = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl }))],
      limits: { max_tool_argument_bytes: JSON.stringify({ topic }).length, max_reply_bytes: 65_536 },
    });
    const message = await chain.stream(context).result();
    expect(message.content).toMatchObject([{ type: 'toolCall', name: 'read_topic', arguments: { topic } }]);
  });
});
