import { describe, expect, it } from 'vitest';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { apiDaemon } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// agent.rules.quotas.max_tokens holds also against a server that sends no usage (one that ignores
// stream_options.include_usage: a proxy, an older llama.cpp): the tokens are then estimated from the text
// sent and received, and the reply says so, rather than counted as 0, which left the quota never reached.

const cleanups = cleanupStack();

describe('the token quota and a server that sends no usage', () => {
  it('ends the run past the quota on estimated tokens, saying they were estimated', { timeout: 30_000 }, async () => {
    const server = new OpenAiSseServer();
    await server.start();
    cleanups.push(() => server.close());
    const { submit, until } = await apiDaemon(
      {
        llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model' }] },
        agent: { rules: { quotas: { max_tokens: 1500 } } },
      },
      'token-quota-no-usage-',
      cleanups,
    );
    // A model that reads the topic list again and again: each turn's prompt carries the system prompt, the
    // tools and the transcript so far, hundreds of tokens.
    for (let i = 0; i < 20; i++) server.enqueue({ toolCalls: [{ name: 'stop', arguments: {} }], noUsage: true });
    server.enqueue({ text: 'Stopped.', noUsage: true });
    const found = await until(
      (await submit({ type: 'natural_language', params: { text: 'stop the robot, again and again' } })).run.run_id,
    );
    expect(found.run.status).toBe('failed');
    expect(found.run.reason).toMatch(
      /^quota\.tokens: the run used \d+ tokens \(estimated: the endpoint sent no usage\), over its quota of 1500/,
    );
    expect(server.requests.length).toBeLessThan(21);
  });
});
