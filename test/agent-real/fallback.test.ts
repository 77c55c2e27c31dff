import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import { BARE_DAEMON } from '../helpers/bare-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import {
  ENDPOINT_SETTINGS,
  MODEL_ID,
  SERVER_KINDS,
  startModelServer,
  type ModelServer,
  type ServerKind,
} from './model-servers.ts';
import { madeModel } from './made-model.ts';
import { startStreamProxy, type StreamProxy } from './stream-proxy.ts';

// The fallback chain between two real servers, through the bus query ai/inference/llm/default: the first is
// killed mid-stream, or stopped (SIGSTOP: its socket still accepts, nothing answers) before or during a reply, and
// the daemon gives up on it by its own frames (a cut stream, connect_timeout_ms, idle_timeout_ms) and asks the next.
// Then the same server is asked again, back on its port (a server restarted while the daemon runs).

const shared = cleanupStack(afterAll);
const made = madeModel();
const cleanups = cleanupStack();

const bare = BARE_DAEMON;

function ask(daemon: Daemon, name: string, maxTokens?: number): Promise<Record<string, unknown>> {
  const payload = new TextEncoder().encode(
    JSON.stringify({ messages: [{ role: 'user', content: 'Say OK' }], max_tokens: maxTokens }),
  );
  return daemon.bus
    .query(`ai/inference/llm/${name}`, { encoding: 'application/json', payload }, { timeoutMs: 120_000 })
    .then((r) => JSON.parse(new TextDecoder().decode(r.payload)) as Record<string, unknown>);
}

const OTHER: Record<ServerKind, ServerKind> = {
  'llama-server': 'llama-cpp-python',
  'llama-cpp-python': 'llama-server',
};

describe.each(SERVER_KINDS)('the fallback chain with %s first', (kind) => {
  let first: ModelServer;
  let backup: ModelServer;

  beforeAll(async () => {
    first = await startModelServer(kind, made.path);
    shared.push(() => first.close());
    backup = await startModelServer(OTHER[kind], made.path);
    shared.push(() => backup.close());
  }, 120_000);

  /** A daemon whose chain is the first server (through `proxy` when given) and then the backup. */
  async function daemonFor(proxy: StreamProxy | undefined, timeouts: Record<string, number>): Promise<Daemon> {
    const { daemon, stop } = await startDaemon(
      {
        ...bare,
        llm: {
          endpoints: [
            {
              name: 'local',
              base_url: proxy?.baseUrl ?? first.baseUrl,
              model: MODEL_ID,
              retries: 1,
              backoff_ms: 1,
              // long enough a reply that the test kills or stops the server while it streams
              max_tokens: 6000,
              ...ENDPOINT_SETTINGS[kind],
              ...timeouts,
            },
            {
              name: 'backup',
              base_url: backup.baseUrl,
              model: MODEL_ID,
              max_tokens: 8,
              ...ENDPOINT_SETTINGS[OTHER[kind]],
            },
          ],
        },
      },
      'real-llm-chain-',
    );
    cleanups.push(stop);
    return daemon;
  }

  async function throughProxy(): Promise<StreamProxy> {
    const proxy = await startStreamProxy(first.port);
    cleanups.push(proxy.close);
    return proxy;
  }

  it('answers from the next server when the first is killed mid-stream, and from the first again once it is back', async () => {
    const proxy = await throughProxy();
    const daemon = await daemonFor(proxy, {});
    const answer = ask(daemon, 'default');
    await proxy.replied();
    await first.kill();
    expect(await answer).toMatchObject({ endpoint: 'backup', content: 'OK OK OK' });
    await expect(ask(daemon, 'local', 8)).rejects.toMatchObject({ code: 'handler_error' });

    await first.start();
    expect(await ask(daemon, 'default', 8)).toMatchObject({ endpoint: 'local', content: 'OK OK OK' });
  }, 180_000);

  it('gives up on a stopped server (SIGSTOP) at connect_timeout_ms, each retry, then asks the next', async () => {
    const daemon = await daemonFor(undefined, { connect_timeout_ms: 1000 });
    first.pause();
    try {
      expect(await ask(daemon, 'default')).toMatchObject({ endpoint: 'backup', content: 'OK OK OK' });
      await expect(ask(daemon, 'local')).rejects.toMatchObject({
        code: 'handler_error',
        message: expect.stringMatching(
          /local attempt 1: no response from the server.*local attempt 2: no response from the server/,
        ),
      });
    } finally {
      first.resume();
    }
  }, 120_000);

  it('gives up on a server stopped mid-stream at idle_timeout_ms, then asks the next', async () => {
    const proxy = await throughProxy();
    const daemon = await daemonFor(proxy, { idle_timeout_ms: 1000, retries: 0 });
    const answer = ask(daemon, 'default');
    await proxy.replied();
    first.pause();
    try {
      expect(await answer).toMatchObject({ endpoint: 'backup', content: 'OK OK OK' });
    } finally {
      first.resume();
    }
  }, 120_000);
});
