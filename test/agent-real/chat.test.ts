import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AssistantMessageEvent, Context } from '@mariozechner/pi-ai';
import { chatOnce, EndpointChain, resolveEndpoint } from '../../adapters/vllm/index.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli } from '../helpers/cli.ts';
import { endpointSettings } from '../agent/endpoint-settings.ts';
import { ENDPOINT_SETTINGS, MODEL_ID, SERVER_KINDS, startModelServer, type ModelServer } from './model-servers.ts';
import { madeModel } from './made-model.ts';

// `llm check`, the bus query's chat and the agent's streamed completion against llama.cpp's llama-server and
// llama-cpp-python's server, on the tests' made model: at temperature 0 it says "OK OK OK ..." to a plain chat, so
// each reply is known token for token.

const shared = cleanupStack(afterAll);
const made = madeModel();

describe.each(SERVER_KINDS)('System 2 against %s', (kind) => {
  let server: ModelServer;
  const settings = (extra: Record<string, unknown> = {}) =>
    endpointSettings({
      name: 'local',
      base_url: server.baseUrl,
      model: MODEL_ID,
      ...ENDPOINT_SETTINGS[kind],
      ...extra,
    });

  beforeAll(async () => {
    server = await startModelServer(kind, made.path);
    shared.push(() => server.close());
  }, 90_000);

  it('llm check lists the model and times a streamed completion; a model the server does not list fails it', async () => {
    const ok = await runCli(['llm', 'check', '--base-url', server.baseUrl, '--model', MODEL_ID, '--json']);
    expect(ok.code, ok.stderr).toBe(0);
    const report = JSON.parse(ok.stdout) as {
      endpoints: { models: { ids: string[]; served: boolean }; completion: Record<string, unknown> }[];
    };
    expect(report.endpoints[0]!.models).toMatchObject({ ok: true, served: true });
    expect(report.endpoints[0]!.models.ids).toContain(MODEL_ID);
    // `llm check` asks for 8 tokens: the made model's "OK OK OK", cut at the limit.
    expect(report.endpoints[0]!.completion).toMatchObject({ ok: true, content: 'OK OK OK', finish_reason: 'length' });

    const wrong = await runCli(['llm', 'check', '--base-url', server.baseUrl, '--model', 'not-served', '--json']);
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ ok: false, endpoints: [{ models: { ok: true, served: false } }] });
  }, 60_000);

  it("streams the bus query's chat whole, with the server's usage, and holds max_tokens to the endpoint's ceiling", async () => {
    const endpoint = resolveEndpoint(settings({ max_tokens: 11 }));
    const reply = await chatOnce(endpoint, { messages: [{ role: 'user', content: 'Say OK' }], max_tokens: 500 });
    expect(reply).toMatchObject({ endpoint: 'local', content: 'OK OK OK OK', finish_reason: 'length' });
    if (kind === 'llama-server') {
      expect(reply.usage).toMatchObject({ completion_tokens: 11 });
      expect(reply.usage!.prompt_tokens).toBeGreaterThan(5);
    } else {
      // llama-cpp-python's server ignores stream_options.include_usage: no usage, and the daemon says none.
      expect(reply.usage).toBeNull();
    }
  }, 60_000);

  it("streams the agent's completion through the endpoint chain and hands it on whole", async () => {
    const chain = new EndpointChain({ endpoints: [resolveEndpoint(settings({ max_tokens: 14 }))] });
    const context: Context = {
      systemPrompt: 'You are a robot.',
      messages: [{ role: 'user', content: 'Say OK', timestamp: Date.now() }],
    };
    const events: AssistantMessageEvent[] = [];
    for await (const event of chain.stream(context)) events.push(event);
    const done = events.find((e) => e.type === 'done');
    expect(done, JSON.stringify(events.at(-1))).toBeDefined();
    const message = (done as Extract<AssistantMessageEvent, { type: 'done' }>).message;
    expect(message.content).toEqual([{ type: 'text', text: 'OK OK OK OK OK' }]);
    expect(message.stopReason).toBe('length');
    // llama-cpp-python's server streams no usage: the daemon's estimate (4 characters a token) stands in.
    expect(message.usage.output).toBe(kind === 'llama-server' ? 14 : Math.ceil('OK OK OK OK OK'.length / 4));
    expect(chain.health()[0]).toMatchObject({ requests: 1, failures: 0, last_error: null });
  }, 60_000);

  it('sends a turn that only called a tool as content "" (llama-cpp-python\'s server answers null with HTTP 500)', async () => {
    const chain = new EndpointChain({ endpoints: [resolveEndpoint(settings({ retries: 0 }))] });
    const usage = {
      input: 0,
      output: 0,
      cacheRead: 0,
      cacheWrite: 0,
      totalTokens: 0,
      cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
    };
    const context: Context = {
      systemPrompt: 'You are a robot.',
      messages: [
        { role: 'user', content: 'Stop.', timestamp: Date.now() },
        {
          role: 'assistant',
          content: [{ type: 'toolCall', id: 'call_1', name: 'stop', arguments: {} }],
          api: 'openai-completions',
          provider: 'edge-local',
          model: MODEL_ID,
          usage,
          stopReason: 'toolUse',
          timestamp: Date.now(),
        },
        {
          role: 'toolResult',
          toolCallId: 'call_1',
          toolName: 'stop',
          content: [{ type: 'text', text: '{"stopped": true}' }],
          isError: false,
          timestamp: Date.now(),
        },
      ],
    };
    const events: AssistantMessageEvent[] = [];
    for await (const event of chain.stream(context)) events.push(event);
    const done = events.find((e) => e.type === 'done') as Extract<AssistantMessageEvent, { type: 'done' }> | undefined;
    expect(done?.message.content, JSON.stringify(events.at(-1))).toEqual([{ type: 'text', text: 'Done.' }]);
    expect(done?.message.stopReason).toBe('stop');
  }, 60_000);

  it('fails a transcript past the context window: llama-server as a bad request (400, not retried), llama-cpp-python as a cut stream', async () => {
    const chain = new EndpointChain({ endpoints: [resolveEndpoint(settings({ retries: 2 }))] });
    // 20,000 letters are 20,000 tokens of the made model's vocabulary: past the servers' 16,384.
    const context: Context = { messages: [{ role: 'user', content: 'a'.repeat(20_000), timestamp: Date.now() }] };
    const events: AssistantMessageEvent[] = [];
    for await (const event of chain.stream(context)) events.push(event);
    const error = events.find((e) => e.type === 'error') as Extract<AssistantMessageEvent, { type: 'error' }>;
    if (kind === 'llama-server') {
      expect(error.error.errorMessage).toMatch(/local attempt 1: 400/);
      expect(error.error.errorMessage).not.toMatch(/attempt 2/);
      expect(chain.health()[0]).toMatchObject({ requests: 1, failures: 1, cooling_down: false });
    } else {
      // llama-cpp-python's server answers 200 and starts the stream before it finds the prompt too long: the
      // stream ends with no finish_reason, an attempt that failed, retried as any cut stream is.
      expect(error.error.errorMessage).toMatch(
        /local attempt 1: .*ended before the model finished \(no finish_reason\)/,
      );
    }
  }, 60_000);
});
