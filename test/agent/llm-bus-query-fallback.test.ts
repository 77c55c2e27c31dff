import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { pacedSseServer } from './paced-sse-server.ts';
import { BARE_DAEMON } from '../helpers/bare-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// The bus query `ai/inference/llm/default` goes down the same endpoints as the agent, and README promises
// the same frames for every attempt: request_timeout_ms for the whole reply, and a 429's Retry-After
// waited out when it fits backoff_max_ms, a longer one moving on to the next endpoint.

const cleanups = cleanupStack();

const bare = BARE_DAEMON;

async function daemonWith(endpoints: Record<string, unknown>[]): Promise<Daemon> {
  const { daemon, stop } = await startDaemon(
    { ...bare, llm: { endpoints: endpoints.map((e) => ({ model: 'scripted-model', ...e })) } },
    'chain-',
  );
  cleanups.push(stop);
  return daemon;
}

async function gateway(...replies: string[]): Promise<OpenAiSseServer> {
  const server = new OpenAiSseServer();
  await server.start();
  cleanups.push(() => server.close());
  server.enqueue(...replies.map((text) => ({ text })));
  return server;
}

function ask(daemon: Daemon, name = 'default'): Promise<Record<string, unknown>> {
  const payload = new TextEncoder().encode(
    JSON.stringify({ messages: [{ role: 'user', content: 'where is the dock?' }] }),
  );
  return daemon.bus
    .query(`ai/inference/llm/${name}`, { encoding: 'application/json', payload }, { timeoutMs: 30_000 })
    .then((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>);
}

describe('the ai/inference/llm bus query down the fallback chain', () => {
  it(
    'ends an attempt that streams past request_timeout_ms and asks the next endpoint',
    { timeout: 30_000 },
    async () => {
      // An overloaded vLLM crawling at a token every 100 ms: never silent for the idle timeout, never done.
      const slow = await pacedSseServer(
        Array.from({ length: 100 }, () => ({ content: 'x' })),
        { paceMs: 100 },
      );
      cleanups.push(slow.close);
      const backup = await gateway('from the gateway');
      const daemon = await daemonWith([
        { name: 'local', base_url: slow.baseUrl, retries: 0, idle_timeout_ms: 2000, request_timeout_ms: 600 },
        { name: 'gateway', base_url: backup.baseUrl },
      ]);
      expect(await ask(daemon)).toMatchObject({ endpoint: 'gateway', content: 'from the gateway' });
      await expect(ask(daemon, 'local')).rejects.toMatchObject({
        code: 'handler_error',
        message: expect.stringContaining('no whole reply within request_timeout_ms (600 ms)'),
      });
    },
  );

  it(
    'moves on at a 429 whose Retry-After is past backoff_max_ms, without asking that endpoint again',
    { timeout: 30_000 },
    async () => {
      const local = new OpenAiSseServer();
      await local.start();
      cleanups.push(() => local.close());
      local.enqueue(
        ...Array.from({ length: 3 }, () => ({ status: 429, message: 'slow down', headers: { 'retry-after': '30' } })),
      );
      const backup = await gateway('from the gateway');
      const daemon = await daemonWith([
        { name: 'local', base_url: local.baseUrl, retries: 2, backoff_ms: 1, backoff_max_ms: 4000 },
        { name: 'gateway', base_url: backup.baseUrl },
      ]);
      expect(await ask(daemon)).toMatchObject({ endpoint: 'gateway', content: 'from the gateway' });
      expect(local.chats).toHaveLength(1);
    },
  );

  it(
    'waits out a 429 whose Retry-After fits backoff_max_ms, then asks that endpoint again',
    { timeout: 30_000 },
    async () => {
      const local = new OpenAiSseServer();
      await local.start();
      cleanups.push(() => local.close());
      const at: number[] = [];
      local.enqueue(
        () => (at.push(performance.now()), { status: 429, message: 'slow down', headers: { 'retry-after': '1' } }),
        () => (at.push(performance.now()), { text: 'from local' }),
      );
      const backup = await gateway();
      const daemon = await daemonWith([
        { name: 'local', base_url: local.baseUrl, retries: 2, backoff_ms: 1, backoff_max_ms: 4000 },
        { name: 'gateway', base_url: backup.baseUrl },
      ]);
      expect(await ask(daemon)).toMatchObject({ endpoint: 'local', content: 'from local' });
      // Not retried after backoff_ms (1 ms): the server asked for a second.
      expect(at[1]! - at[0]!).toBeGreaterThanOrEqual(900);
      expect(backup.chats).toHaveLength(0);
    },
  );
});
