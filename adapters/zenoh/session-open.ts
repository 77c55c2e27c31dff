import type { Logger } from 'pino';
import { WebSocket as ProbeSocket } from 'ws';
import type { Session } from '@eclipse-zenoh/zenoh-ts';
import { withTimeout } from '../../daemon/util/index.ts';
import { quietConsole, type ZenohModule } from './zenoh-runtime.ts';

/** Whether a WebSocket endpoint accepts a connection within `ms`: zenoh-ts's own open retries for ~30 minutes. */
function probe(url: string, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('closed'));
    const ws = new ProbeSocket(url);
    const done = (error?: Error) => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      ws.removeAllListeners();
      ws.on('error', () => {}); // a late error of a socket given up must not reach the event loop
      ws.terminate();
      if (error) reject(error);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no answer from ${url} within ${ms} ms`)), ms);
    const onAbort = () => done(new Error('closed'));
    signal.addEventListener('abort', onAbort, { once: true });
    ws.once('open', () => done());
    ws.once('error', (error) => done(new Error(`cannot reach ${url}: ${error.message}`)));
  });
}

/**
 * Opens a zenoh-ts session with our own timeout: the endpoint is probed first, then `Session.open` is raced
 * against `openTimeoutMs` and against `signal` (a daemon stopping must not wait). zenoh-ts goes on trying in
 * the background after we give up; a session it opens late is closed at once.
 */
export async function openSession(
  zenoh: ZenohModule,
  options: { url: string; openTimeoutMs: number; responseTimeoutMs: number; signal: AbortSignal; log: Logger },
): Promise<Session> {
  const { url, openTimeoutMs, responseTimeoutMs, signal, log } = options;
  await probe(url, openTimeoutMs, signal);
  // zenoh-ts prints "Connected to ..." and "Successfully opened session ..." while it opens.
  const restore = quietConsole((text) => log.debug({ zenoh_ts: text }, 'zenoh-ts'));
  const opening = zenoh.Session.open(new zenoh.Config(url, responseTimeoutMs));
  opening.then(restore, restore);
  try {
    return await withTimeout(opening, openTimeoutMs, `no Zenoh session from ${url} within ${openTimeoutMs} ms`, {
      signal,
    });
  } catch (error) {
    restore();
    opening.then(
      (late) => late.close().catch(() => {}),
      () => {},
    );
    throw signal.aborted && error === signal.reason ? new Error('closed') : error;
  }
}
