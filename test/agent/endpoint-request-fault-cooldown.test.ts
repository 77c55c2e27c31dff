import { describe, expect, it } from 'vitest';
import { http } from '../api/http.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { apiDaemon } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// vLLM answers 400 to a request it cannot take: a run whose transcript grew past the model's context
// ("This model's maximum context length is 32768 tokens. However, you requested 33012 tokens"), a
// response schema it cannot compile. That is the request's fault, not the endpoint's: the endpoint was
// cooled down all the same, so with one local vLLM (the usual edge setup) every other natural-language
// intent failed at once for cooldown_ms ("every model endpoint failed recently") and the agent reported
// System 2 down.

const cleanups = cleanupStack();

async function setup() {
  const server = new OpenAiSseServer();
  await server.start();
  cleanups.push(() => server.close());
  const daemon = await apiDaemon(
    {
      llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model', cooldown_ms: 600_000 }] },
    },
    'cooldown-',
    cleanups,
  );
  const intent = async (text: string) => {
    const created = await daemon.submit({ type: 'natural_language', params: { text } });
    expect(created.status, created.text).toBe(201);
    return created.run;
  };
  return { server, ...daemon, intent };
}

describe('an endpoint that refuses one request as bad (HTTP 400)', () => {
  it('still answers the next intent, and the agent does not report System 2 down', { timeout: 30_000 }, async () => {
    const { server, url, until, intent } = await setup();
    server.enqueue({
      status: 400,
      message:
        "This model's maximum context length is 32768 tokens. However, you requested 33012 tokens (32000 in the messages, 1012 in the completion).",
    });
    const first = await until((await intent('a very long story')).run_id);
    expect(first.run).toMatchObject({ status: 'failed', reason: expect.stringContaining('maximum context length') });
    // Not retried: the same request would be refused the same way.
    expect(server.chats).toHaveLength(1);

    const status = (await http(url, '/status')).json as { components: Record<string, { state: string }> };
    expect(status.components.agent?.state).toBe('running');
    server.enqueue({ text: 'Here I am.' });
    const second = await until((await intent('where are you?')).run_id);
    expect(second.run).toMatchObject({ status: 'succeeded', reason: 'Here I am.' });
  });

  it('still cools down an endpoint that refuses the daemon itself (401 bad key)', { timeout: 30_000 }, async () => {
    const { server, until, intent } = await setup();
    server.enqueue({ status: 401, message: 'bad key' });
    expect((await until((await intent('go')).run_id)).run.status).toBe('failed');
    const again = await intent('go again');
    expect(again.status).toBe('failed');
    expect(again.reason).toMatch(/System 2 unavailable: every model endpoint failed recently: local: 401 bad key/);
    expect(server.chats).toHaveLength(1);
  });
});
