import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { pacedSseServer } from './paced-sse-server.ts';
import { BARE_DAEMON } from '../helpers/bare-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// A reasoning model on vLLM (`--reasoning-parser`, Qwen3, DeepSeek-R1) streams its thinking as
// `delta.reasoning_content` (`delta.reasoning` in newer vLLM) before any `delta.content`: tokens flow the
// whole time. The bus query counted only content as a token, so a model that thought for longer than
// first_token_timeout_ms was cut off as silent ("no first token") while it streamed, and retried from the
// start, paying for the thinking again.

const cleanups = cleanupStack();

const bare = BARE_DAEMON;

async function daemonWith(endpoint: Record<string, unknown>): Promise<Daemon> {
  const { daemon, stop } = await startDaemon(
    { ...bare, llm: { endpoints: [{ name: 'local', model: 'm', retries: 0, ...endpoint }] } },
    'reasoning-',
  );
  cleanups.push(stop);
  return daemon;
}

function ask(daemon: Daemon): Promise<Record<string, unknown>> {
  const payload = new TextEncoder().encode(
    JSON.stringify({ messages: [{ role: 'user', content: 'where is the dock?' }] }),
  );
  return daemon.bus
    .query('ai/inference/llm/local', { encoding: 'application/json', payload }, { timeoutMs: 10_000 })
    .then((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>);
}

describe('the ai/inference/llm bus query with a reasoning model', () => {
  for (const field of ['reasoning_content', 'reasoning'] as const) {
    it(
      `takes delta.${field} as tokens: a model thinking past first_token_timeout_ms is answered, not cut off`,
      { timeout: 20_000 },
      async () => {
        // Thinks for 18 x 50 ms = 900 ms, three times the first-token timeout, each gap well within the idle one.
        const server = await pacedSseServer(
          [...Array.from({ length: 18 }, () => ({ [field]: 'hmm ' })), { content: 'the dock is at (1, 2)' }],
          { paceMs: 50 },
        );
        cleanups.push(server.close);
        const daemon = await daemonWith({
          base_url: server.baseUrl,
          first_token_timeout_ms: 300,
          idle_timeout_ms: 300,
        });
        expect(await ask(daemon)).toMatchObject({
          endpoint: 'local',
          content: 'the dock is at (1, 2)',
          finish_reason: 'stop',
        });
        expect(server.chats).toBe(1);
      },
    );
  }

  it('still gives up on a stream that goes silent while the model thinks', { timeout: 20_000 }, async () => {
    // Thinking counts as tokens, not as a licence to stall: one reasoning chunk, then nothing, is cut off
    // by the idle timeout, long before the first-token timeout.
    const server = await pacedSseServer([{ reasoning_content: 'hmm' }], { paceMs: 1, finish: null });
    cleanups.push(server.close);
    const daemon = await daemonWith({ base_url: server.baseUrl, first_token_timeout_ms: 5000, idle_timeout_ms: 300 });
    await expect(ask(daemon)).rejects.toMatchObject({
      code: 'handler_error',
      message: expect.stringContaining('the stream went silent (300 ms)'),
    });
  });
});
