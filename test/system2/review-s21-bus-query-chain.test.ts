import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { pacedSseServer } from './paced-sse-server.ts';

// The bus query `ai/inference/llm/default` goes down the same endpoints as the agent, and README promises
// the same frames for every attempt: request_timeout_ms for the whole reply.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const bare = { sim: { enabled: false }, foxglove: { enabled: false }, api: { enabled: false }, lakehouse: { enabled: false }, retention: { enabled: false } };

async function daemonWith(endpoints: Record<string, unknown>[]): Promise<Daemon> {
  const { daemon, stop } = await startDaemon({ ...bare, llm: { endpoints: endpoints.map((e) => ({ model: 'scripted-model', ...e })) } }, 'review-s21-chain-');
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
  const payload = new TextEncoder().encode(JSON.stringify({ messages: [{ role: 'user', content: 'where is the dock?' }] }));
  return daemon.bus.query(`ai/inference/llm/${name}`, { encoding: 'application/json', payload }, { timeoutMs: 30_000 }).then((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>);
}

describe('the ai/inference/llm bus query down the fallback chain', () => {
  it('ends an attempt that streams past request_timeout_ms and asks the next endpoint', { timeout: 30_000 }, async () => {
    // An overloaded vLLM crawling at a token every 100 ms: never silent for the idle timeout, never done.
    const slow = await pacedSseServer(Array.from({ length: 100 }, () => ({ content: 'x' })), { paceMs: 100 });
    cleanups.push(slow.close);
    const backup = await gateway('from the gateway');
    const daemon = await daemonWith([
      { name: 'local', base_url: slow.baseUrl, retries: 0, idle_timeout_ms: 2000, request_timeout_ms: 600 },
      { name: 'gateway', base_url: backup.baseUrl },
    ]);
    expect(await ask(daemon)).toMatchObject({ endpoint: 'gateway', content: 'from the gateway' });
    await expect(ask(daemon, 'local')).rejects.toMatchObject({ code: 'handler_error', message: expect.stringContaining('no whole reply within request_timeout_ms (600 ms)') });
  });
});
