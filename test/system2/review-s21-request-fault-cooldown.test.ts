import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { http } from '../api/http.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { startDaemon } from '../helpers/daemon.ts';

// vLLM answers 400 to a request it cannot take: a run whose transcript grew past the model's context
// ("This model's maximum context length is 32768 tokens. However, you requested 33012 tokens"), a
// response schema it cannot compile. That is the request's fault, not the endpoint's: the endpoint was
// cooled down all the same, so with one local vLLM (the usual edge setup) every other natural-language
// intent failed at once for cooldown_ms ("every model endpoint failed recently") and the agent reported
// System 2 down.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Run = { run_id: string; status: string; reason?: string };

describe('an endpoint that refuses one request as bad (HTTP 400)', () => {
  it('still answers the next intent, and the agent does not report System 2 down', { timeout: 30_000 }, async () => {
    const server = new OpenAiSseServer();
    await server.start();
    cleanups.push(() => server.close());
    const { dir, stop } = await startDaemon(
      {
        sim: { enabled: false },
        foxglove: { enabled: false },
        lakehouse: { enabled: false },
        retention: { enabled: false },
        api: { port: 0 },
        llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model', cooldown_ms: 600_000 }] },
      },
      'review-s21-cooldown-',
    );
    cleanups.push(stop);
    const { url } = readApiFile(join(dir, 'data'))!;
    const until = async (runId: string): Promise<Run> => {
      const deadline = performance.now() + 20_000;
      for (;;) {
        const { run } = (await http(url, `/runs/${runId}`)).json as { run: Run };
        if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(run.status)) return run;
        if (performance.now() > deadline) throw new Error(`run ${runId} never ended (is ${run.status})`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    };
    const intent = async (text: string) => {
      const created = await http(url, '/intents', { body: { type: 'natural_language', params: { text } } });
      expect(created.status, created.text).toBe(201);
      return until((created.json.run as Run).run_id);
    };

    server.enqueue({ status: 400, message: "This model's maximum context length is 32768 tokens. However, you requested 33012 tokens (32000 in the messages, 1012 in the completion)." });
    expect(await intent('a very long story')).toMatchObject({ status: 'failed', reason: expect.stringContaining('maximum context length') });
    // Not retried: the same request would be refused the same way.
    expect(server.chats).toHaveLength(1);

    const status = (await http(url, '/status')).json as { components: Record<string, { state: string }> };
    expect(status.components.agent?.state).toBe('running');
    server.enqueue({ text: 'Here I am.' });
    expect(await intent('where are you?')).toMatchObject({ status: 'succeeded', reason: 'Here I am.' });
  });

  it('still cools down an endpoint that refuses the daemon itself (401 bad key)', { timeout: 30_000 }, async () => {
    const server = new OpenAiSseServer();
    await server.start();
    cleanups.push(() => server.close());
    const { dir, stop } = await startDaemon(
      {
        sim: { enabled: false },
        foxglove: { enabled: false },
        lakehouse: { enabled: false },
        retention: { enabled: false },
        api: { port: 0 },
        llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model', cooldown_ms: 600_000 }] },
      },
      'review-s21-cooldown-',
    );
    cleanups.push(stop);
    const { url } = readApiFile(join(dir, 'data'))!;
    server.enqueue({ status: 401, message: 'bad key' });
    const created = await http(url, '/intents', { body: { type: 'natural_language', params: { text: 'go' } } });
    const runId = (created.json.run as Run).run_id;
    const deadline = performance.now() + 20_000;
    let run: Run;
    do {
      run = ((await http(url, `/runs/${runId}`)).json as { run: Run }).run;
      await new Promise((resolve) => setTimeout(resolve, 20));
    } while (run.status !== 'failed' && performance.now() < deadline);
    const again = await http(url, '/intents', { body: { type: 'natural_language', params: { text: 'go again' } } });
    expect((again.json.run as Run).status).toBe('failed');
    expect((again.json.run as Run).reason).toMatch(/System 2 unavailable: every model endpoint failed recently: local: 401 bad key/);
    expect(server.chats).toHaveLength(1);
  });
});
