import { describe, expect, it } from 'vitest';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// An empty completion (no text, finish_reason stop) is a failed attempt for the bus query
// ai/inference/llm, as it is for the agent (README): retried, then the next endpoint, never handed to the
// caller as an answer.

const cleanups = cleanupStack();

describe('the ai/inference/llm bus query and an empty completion', () => {
  it(
    'tries again and answers with the next reply that says something; says so when none does',
    { timeout: 30_000 },
    async () => {
      const server = new OpenAiSseServer();
      await server.start();
      cleanups.push(() => server.close());
      const { daemon, stop } = await startDaemon(
        {
          sim: { enabled: false },
          foxglove: { enabled: false },
          api: { enabled: false },
          lakehouse: { enabled: false },
          retention: { enabled: false },
          llm: {
            endpoints: [
              { name: 'local', base_url: server.baseUrl, model: 'scripted-model', retries: 1, backoff_ms: 5 },
            ],
          },
        },
        'llm-query-empty-',
      );
      cleanups.push(stop);
      const ask = () =>
        daemon.bus
          .query(
            'ai/inference/llm/local',
            {
              encoding: 'application/json',
              payload: new TextEncoder().encode(
                JSON.stringify({ messages: [{ role: 'user', content: 'where is the dock?' }] }),
              ),
            },
            { timeoutMs: 20_000 },
          )
          .then((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>);
      server.enqueue({ text: '' }, { text: 'by the door' });
      expect(await ask()).toMatchObject({ content: 'by the door' });
      server.enqueue({ text: '' }, { text: '' });
      await expect(ask()).rejects.toMatchObject({ message: expect.stringContaining('empty completion') });
    },
  );
});
