import type { Context } from '@mariozechner/pi-ai';
import { beforeEach, describe, expect, it } from 'vitest';
import type { LlmEndpointSettings } from '../../daemon/config/sections/system2.ts';
import { type OpenAiSseServer, withServerPair } from '../../test/doubles/openai-sse-server.ts';
import { endpointSettings } from '../../test/agent/endpoint-settings.ts';
import { EndpointChain } from './endpoint-chain.ts';
import { resolveEndpoint } from './model.ts';

const context: Context = {
  systemPrompt: 'plan',
  messages: [{ role: 'user', content: 'drive to the charging dock', timestamp: Date.now() }],
};

describe('EndpointChain: what counts as a failed endpoint, and saying so', () => {
  let server: OpenAiSseServer;
  let backup: OpenAiSseServer;
  const warnings: { fields: Record<string, unknown>; message: string }[] = [];
  const log = { warn: (fields: Record<string, unknown>, message: string) => void warnings.push({ fields, message }) };

  withServerPair((s, b) => ((server = s), (backup = b)));
  beforeEach(() => void (warnings.length = 0));

  const chain = (local: Partial<LlmEndpointSettings> = {}, now?: () => number) =>
    new EndpointChain({
      endpoints: [
        resolveEndpoint(endpointSettings({ ...local, name: 'local', base_url: server.baseUrl })),
        resolveEndpoint(endpointSettings({ name: 'gateway', base_url: backup.baseUrl })),
      ],
      log,
      ...(now ? { now } : {}),
    });

  it('treats a 200 text/html answer (a proxy page) as a failed endpoint and asks the next one', async () => {
    server.enqueue({ raw: '<html><body>502 Bad Gateway</body></html>', contentType: 'text/html' });
    backup.enqueue({ text: 'On my way.' });
    const c = chain();
    const message = await c.stream(context).result();
    expect(message.content).toMatchObject([{ type: 'text', text: 'On my way.' }]);
    expect(c.health()[0]!.last_error).toBe(
      `local (${server.baseUrl}) answered text/html, not an event stream: <html><body>502 Bad Gateway</body></html>`,
    );
    expect(server.chats).toHaveLength(1);
  });

  it('treats an empty completion as a failure, not an answer', async () => {
    server.enqueue({ text: '' });
    backup.enqueue({ text: 'On my way.' });
    const c = chain({ retries: 0 });
    const message = await c.stream(context).result();
    expect(message.content).toMatchObject([{ type: 'text', text: 'On my way.' }]);
    expect(c.health()[0]!.last_error).toMatch(
      /^local \(http:.*\) sent an empty completion \(finish_reason stop, no text and no tool call\)$/,
    );
  });

  it('warns when it falls back, naming the endpoint that failed, why, and the one used instead; once a minute per cause', async () => {
    server.enqueue({ status: 500, message: 'CUDA out of memory' }, { status: 500, message: 'CUDA out of memory' });
    backup.enqueue({ text: 'one' }, { text: 'two' });
    let now = 1_000_000;
    const c = chain({ retries: 0, cooldown_ms: 0 }, () => now);
    await c.stream(context).result();
    now += 1000;
    await c.stream(context).result();
    expect(server.chats).toHaveLength(2);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.message).toBe(
      'model endpoint fallback: local attempt 1: 500 CUDA out of memory; answered by gateway instead',
    );
    expect(warnings[0]!.fields).toMatchObject({
      endpoint: 'gateway',
      failures: ['local attempt 1: 500 CUDA out of memory'],
    });
  });

  it('honours a 429 Retry-After longer than the backoff budget by moving on and cooling the endpoint down that long', async () => {
    server.enqueue({ status: 429, message: 'slow down', headers: { 'retry-after': '30' } });
    backup.enqueue({ text: 'from the gateway' });
    let now = 1_000_000;
    const c = chain({ retries: 2, backoff_max_ms: 4000, cooldown_ms: 10_000 }, () => now);
    const message = await c.stream(context).result();
    expect(message.content).toMatchObject([{ type: 'text', text: 'from the gateway' }]);
    // Not retried after 250 ms: the server asked for 30 s.
    expect(server.chats).toHaveLength(1);
    now += 20_000;
    expect(c.health()[0]).toMatchObject({ name: 'local', cooling_down: true });
    now += 11_000;
    expect(c.health()[0]).toMatchObject({ name: 'local', cooling_down: false });
  });
});
