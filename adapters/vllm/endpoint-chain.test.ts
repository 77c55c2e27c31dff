import type { AssistantMessage, Context } from '@mariozechner/pi-ai';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { type OpenAiSseServer, withServerPair } from '../../test/doubles/openai-sse-server.ts';
import { endpointSettings } from '../../test/agent/endpoint-settings.ts';
import { EndpointChain } from './endpoint-chain.ts';
import { resolveEndpoint } from './model.ts';

const navigateTool = {
  name: 'navigate_to',
  description: 'Drive to a map point.',
  parameters: Type.Object({ x: Type.Number(), y: Type.Number() }),
};

const context: Context = {
  systemPrompt: 'plan',
  messages: [{ role: 'user', content: 'go to the dock', timestamp: Date.now() }],
  tools: [navigateTool],
};

async function finalMessage(chain: EndpointChain, ctx: Context = context): Promise<AssistantMessage> {
  return chain.stream(ctx).result();
}

function toolCalls(message: AssistantMessage) {
  return message.content.filter((b) => b.type === 'toolCall');
}

describe('EndpointChain against a vLLM-style SSE server', () => {
  let server: OpenAiSseServer;
  let backup: OpenAiSseServer;
  withServerPair((s, b) => ((server = s), (backup = b)));

  it('reassembles a tool call whose arguments arrive split across deltas', async () => {
    server.enqueue({ toolCalls: [{ name: 'navigate_to', arguments: { x: 1.25, y: -3.5 } }] });
    const chain = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl }))],
    });
    const message = await finalMessage(chain);
    expect(message.stopReason).toBe('toolUse');
    expect(toolCalls(message)).toMatchObject([{ name: 'navigate_to', arguments: { x: 1.25, y: -3.5 } }]);
    const body = server.chats[0]!.body;
    expect(body).toMatchObject({ model: 'scripted-model', stream: true });
    expect((body.tools as { function: { name: string } }[])[0]!.function.name).toBe('navigate_to');
    expect(chain.health()[0]!.last_ttft_ms).not.toBeNull();
  });

  it('retries a 500 and answers from the same endpoint', async () => {
    server.enqueue({ status: 500 }, { text: 'done' });
    const chain = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl }))],
    });
    const message = await finalMessage(chain);
    expect(message.stopReason).toBe('stop');
    expect(message.content).toMatchObject([{ type: 'text', text: 'done' }]);
    expect(server.chats).toHaveLength(2);
  });

  it('never hands on a tool call with malformed JSON arguments, and retries', async () => {
    server.enqueue(
      { toolCalls: [{ name: 'navigate_to', arguments: '{"x": 1.0, "y": }' }] },
      { toolCalls: [{ name: 'navigate_to', arguments: { x: 1, y: 2 } }] },
    );
    const chain = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl }))],
    });
    const message = await finalMessage(chain);
    expect(toolCalls(message)).toMatchObject([{ arguments: { x: 1, y: 2 } }]);
    expect(server.chats).toHaveLength(2);
    expect(chain.health()[0]!.failures).toBe(1);
  });

  it('treats a stream that stops mid tool call as a failure, not as partial arguments', async () => {
    server.enqueue({
      cut: { toolCalls: [{ name: 'navigate_to', arguments: { x: 12.345678, y: 98.765432 } }] },
      fraction: 0.6,
    });
    const chain = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, retries: 0 }))],
    });
    const message = await finalMessage(chain);
    expect(message.stopReason).toBe('error');
    expect(message.errorMessage).toMatch(
      /local attempt 1: the stream from local .* ended before the model finished \(no finish_reason\)/,
    );
    expect(toolCalls(message)).toHaveLength(0);
  });

  it('falls back to the next endpoint when the first never answers', async () => {
    server.enqueue({ hang: true });
    backup.enqueue({ text: 'from the gateway' });
    const chain = new EndpointChain({
      endpoints: [
        resolveEndpoint(
          endpointSettings({ name: 'local', base_url: server.baseUrl, retries: 0, connect_timeout_ms: 150 }),
        ),
        resolveEndpoint(endpointSettings({ name: 'gateway', base_url: backup.baseUrl })),
      ],
    });
    const message = await finalMessage(chain);
    expect(message.content).toMatchObject([{ type: 'text', text: 'from the gateway' }]);
    expect(chain.health().map((h) => [h.name, h.cooling_down])).toEqual([
      ['local', true],
      ['gateway', false],
    ]);
  });

  it('times out a stream that stalls after its first chunk', async () => {
    server.enqueue({ stall: { toolCalls: [{ name: 'navigate_to', arguments: { x: 1, y: 2 } }] } });
    const chain = new EndpointChain({
      endpoints: [
        resolveEndpoint(
          endpointSettings({
            name: 'local',
            base_url: server.baseUrl,
            retries: 0,
            first_token_timeout_ms: 150,
            idle_timeout_ms: 150,
          }),
        ),
      ],
    });
    const message = await finalMessage(chain);
    expect(message.stopReason).toBe('error');
    expect(message.errorMessage).toMatch(/no first token \(150 ms\)|went silent/);
  });

  it('names every failure when all endpoints fail, then fails fast without a request', async () => {
    server.enqueue({ status: 503, message: 'overloaded' }, { status: 503, message: 'overloaded' });
    backup.enqueue({ status: 401, message: 'bad key' });
    const chain = new EndpointChain({
      endpoints: [
        resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, retries: 1 })),
        resolveEndpoint(endpointSettings({ name: 'gateway', base_url: backup.baseUrl, retries: 3 })),
      ],
    });
    const message = await finalMessage(chain);
    expect(message.stopReason).toBe('error');
    expect(message.errorMessage).toMatch(/local attempt 1: 503.*local attempt 2: 503.*gateway attempt 1: 401/);
    // 401 is not retried: the same key fails the same way.
    expect(backup.chats).toHaveLength(1);
    expect(chain.available()).toMatchObject({ ok: false });
    const again = await finalMessage(chain);
    expect(again.errorMessage).toMatch(/skipped/);
    expect(server.chats.length + backup.chats.length).toBe(3);
  });

  it('asks for structured output the way each server understands it', async () => {
    const schema = { name: 'goal', schema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'] } };
    server.enqueue({ text: '{"x": 1}' });
    backup.enqueue({ text: '{"x": 2}' });
    const openai = new EndpointChain({
      endpoints: [resolveEndpoint(endpointSettings({ name: 'cloud', base_url: server.baseUrl }))],
    });
    const vllm = new EndpointChain({
      endpoints: [
        resolveEndpoint(endpointSettings({ name: 'local', base_url: backup.baseUrl, structured_outputs: 'vllm' })),
      ],
    });
    await openai.stream(context, { responseSchema: schema }).result();
    await vllm.stream(context, { responseSchema: schema }).result();
    expect(server.chats[0]!.body.response_format).toEqual({
      type: 'json_schema',
      json_schema: { ...schema, strict: true },
    });
    expect(backup.chats[0]!.body.structured_outputs).toEqual({ json: schema.schema });
  });

  it('with no endpoints, fails at once with the reason', async () => {
    const chain = new EndpointChain({ endpoints: [] });
    expect(chain.available()).toEqual({
      ok: false,
      reason: 'no model endpoint is configured (llm.endpoints is empty)',
    });
    const message = await finalMessage(chain);
    expect(message.errorMessage).toBe('no model endpoint is configured (llm.endpoints is empty)');
  });
});
