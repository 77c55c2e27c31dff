import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { LlmComponent } from '../../adapters/vllm/llm-component.ts';
import { runCli, runMain } from '../helpers/cli.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { componentContext } from '../helpers/component-context.ts';
import { deadPort } from '../helpers/closed-port.ts';

const servers: OpenAiSseServer[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.close();
});

async function server(models?: string[]): Promise<OpenAiSseServer> {
  const s = new OpenAiSseServer({ models });
  await s.start();
  servers.push(s);
  return s;
}

describe('auraison-edge llm check', () => {
  it('lists the models and times a short completion', async () => {
    const s = await server(['qwen2.5-7b-instruct']);
    s.enqueue({ text: 'ok' });
    const r = await runMain(['llm', 'check', '--base-url', s.baseUrl, '--json']);
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      endpoints: {
        model: string;
        models: { ids: string[] };
        completion: { ok: boolean; content: string; ttft_ms: number };
      }[];
    };
    expect(report.ok).toBe(true);
    expect(report.endpoints[0]).toMatchObject({
      model: 'qwen2.5-7b-instruct',
      models: { ids: ['qwen2.5-7b-instruct'] },
      completion: { ok: true, content: 'ok' },
    });
    expect(s.chats[0]!.body).toMatchObject({ model: 'qwen2.5-7b-instruct', max_tokens: 8, stream: true });
  });

  it('says what failed: a 500, a model the endpoint does not serve, no server at all', async () => {
    const s = await server(['served-model']);
    s.enqueue({ status: 500, message: 'CUDA out of memory' });
    const failed = await runMain(['llm', 'check', '--base-url', s.baseUrl, '--model', 'other-model']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/^FAIL cli /);
    expect(failed.stdout).toContain('problem: the configured model other-model is not among them');
    expect(failed.stdout).toMatch(/completion: failed: 500 CUDA out of memory/);
    const down = await runMain([
      'llm',
      'check',
      '--base-url',
      'http://127.0.0.1:9/v1',
      '--model',
      'm',
      '--timeout-ms',
      '500',
    ]);
    expect(down.code).toBe(1);
    // fetch refuses port 9 itself (its blocked-ports list): said in words, with what to do.
    expect(down.stdout).toMatch(
      /models: failed: the URL's port is one fetch refuses to connect to .*serve the endpoint on another port/,
    );
  });

  it('says why a connection failed (refused with host and port, DNS), not the library\'s bare "Connection error.", and hides a password', async () => {
    const port = await deadPort();
    const refused = await runMain([
      'llm',
      'check',
      '--base-url',
      `http://localhost:${port}/v1`,
      '--model',
      'm',
      '--json',
    ]);
    expect(refused.code).toBe(1);
    const report = JSON.parse(refused.stdout) as {
      endpoints: { models: { error: string }; completion: { error: string } }[];
    };
    expect(report.endpoints[0]!.models.error).toMatch(
      new RegExp(`^connection refused \\(ECONNREFUSED (127\\.0\\.0\\.1|::1):${port}\\)`),
    );
    expect(report.endpoints[0]!.completion.error).toMatch(/^connection refused/);
    const dns = await runMain(['llm', 'check', '--base-url', 'http://no-such-host.invalid/v1', '--model', 'm']);
    expect(dns.stdout).toMatch(/models: failed: DNS lookup failed.* \((ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\)/);
    const secret = await runMain([
      'llm',
      'check',
      '--base-url',
      `http://user:hunter2@127.0.0.1:${port}/v1`,
      '--model',
      'm',
    ]);
    expect(secret.code).toBe(1);
    expect(secret.stdout).toContain('http://user:***@127.0.0.1');
    expect(secret.stdout).not.toContain('hunter2');
  });

  it('gives up on a model list that stalls after its headers within --timeout-ms, and says which step', async () => {
    const s = await server(['served-model']);
    s.stallModels = true;
    s.enqueue({ text: 'ok' });
    const r = await runMain([
      'llm',
      'check',
      '--base-url',
      s.baseUrl,
      '--model',
      'served-model',
      '--timeout-ms',
      '300',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`models: failed: no complete answer from ${s.baseUrl}/models within 300 ms`);
    // The next step still runs: the completion answers.
    expect(r.stdout).toMatch(/completion: first token .* "ok"/);
  });

  it("keeps the openai library's own console lines off stderr on a garbage stream", async () => {
    const s = await server(['m']);
    s.enqueue({ raw: 'data: {not json}\n\n', contentType: 'text/event-stream' });
    // A real process: the library writes with console.error, to the process's stderr, which runMain does not see.
    const r = await runCli(['llm', 'check', '--base-url', s.baseUrl, '--model', 'm']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/completion: failed: /);
    expect(r.stderr).not.toMatch(/Could not parse message into JSON|From chunk/);
  });

  it("checks the config's endpoints, and reports bad usage with exit 2", async () => {
    const none = await runMain(['llm', 'check']);
    expect(none.code).toBe(1);
    expect(none.stdout).toContain('no endpoint to check: llm.endpoints is empty');
    expect((await runMain(['llm', 'check', '--base-url', 'localhost:8000'])).code).toBe(2);
    expect((await runMain(['llm', 'status'])).code).toBe(2);
  });
});

describe('the ai/inference/llm bus query', () => {
  it('answers a chat request, with structured output checked against the schema, and falls back across endpoints', async () => {
    const a = await server();
    const b = await server();
    const bus = new Bus();
    const ctx = componentContext(
      {
        llm: {
          endpoints: [
            { name: 'local', base_url: a.baseUrl, model: 'scripted-model', retries: 0, structured_outputs: 'vllm' },
            { name: 'gateway', base_url: b.baseUrl, model: 'scripted-model' },
          ],
        },
      },
      { bus },
    );
    const llm = new LlmComponent(ctx, {});
    await llm.start();
    expect(bus.queryables().sort()).toEqual([
      'ai/inference/llm/default',
      'ai/inference/llm/gateway',
      'ai/inference/llm/local',
    ]);
    const ask = async (name: string, body: unknown) => {
      const reply = await bus.query(
        name,
        { encoding: 'application/json', payload: new TextEncoder().encode(JSON.stringify(body)) },
        { timeoutMs: 10_000 },
      );
      return JSON.parse(new TextDecoder().decode(reply.payload)) as Record<string, unknown>;
    };
    const schema = {
      name: 'goal',
      schema: { type: 'object', properties: { x: { type: 'number' } }, required: ['x'], additionalProperties: false },
    };
    a.enqueue({ text: '{"x": 1.5}' });
    expect(
      await ask('ai/inference/llm/local', { messages: [{ role: 'user', content: 'where?' }], response_schema: schema }),
    ).toMatchObject({ endpoint: 'local', content: '{"x": 1.5}', parsed: { x: 1.5 } });
    expect(a.chats[0]!.body.structured_outputs).toEqual({ json: schema.schema });
    // A reply that breaks the schema is an error, not an answer; the chain then asks the next endpoint.
    a.enqueue({ text: '{"y": 2}' });
    b.enqueue({ text: '{"x": 3}' });
    expect(
      await ask('ai/inference/llm/default', {
        messages: [{ role: 'user', content: 'where?' }],
        response_schema: schema,
      }),
    ).toMatchObject({ endpoint: 'gateway', parsed: { x: 3 } });
    await expect(ask('ai/inference/llm/local', { messages: [] })).rejects.toThrow(
      /llm query request: messages: expected array of 1 to 256 items, got \[\]/,
    );
    await llm.close();
    expect(bus.queryables()).toEqual([]);
    bus.close();
  });
});
