import type { DuckDBConnection } from '@duckdb/node-api';

/**
 * A DuckDB connection that can be closed while other code may still be running statements on it: a long-lived
 * connection that HTTP handlers, MQTT handlers and timers share (central's lake).
 *
 * DuckDB's Node bindings run a statement on libuv's thread pool with a raw handle to the connection.
 * `closeSync()` frees the connection at once, and a statement still queued or running then uses freed memory: the
 * process dies of SIGSEGV, now or a little later (tried with @duckdb/node-api 1.5.5-r.5: 200 closes during a
 * `run` crashed on the first; `interrupt()` first does not help, it only sets a flag the running statement reads).
 *
 * `connection` is the same connection with each of its promise-returning methods counted while it runs. `close()`
 * refuses new statements ("closed"), interrupts the running ones if asked, waits until none runs, and only then
 * closes. Statements of objects the connection returns (a prepared statement's run, a pending result) are not
 * counted: callers that close while such work may run must await it themselves.
 */
export interface TrackedConnection {
  readonly connection: DuckDBConnection;
  /** Statements running now. */
  readonly running: number;
  /**
   * Refuses new statements from now on, interrupts the running and queued ones when `interrupt` (reads whose
   * answer no one will take), waits until none runs, and closes. A second call gets the first's promise.
   */
  close(options?: { interrupt?: boolean }): Promise<void>;
}

/** How often close({ interrupt: true }) interrupts again while statements run. */
const INTERRUPT_EVERY_MS = 20;

export function trackConnection(connection: DuckDBConnection, name: string): TrackedConnection {
  const running = new Set<Promise<unknown>>();
  let closing: Promise<void> | undefined;
  const proxy = new Proxy(connection, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      if (property === 'closeSync' || property === 'disconnectSync')
        return () => {
          throw new Error(`${name}: close it with its tracker's close(), which waits for the statements running on it`);
        };
      return (...args: unknown[]): unknown => {
        // Once closing, nothing starts: the statement methods are all async, so they answer a rejection.
        if (closing && property !== 'interrupt') return Promise.reject(new Error(`${name} is closed`));
        const out: unknown = Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
        if (out instanceof Promise) {
          running.add(out);
          const forget = (): void => void running.delete(out);
          out.then(forget, forget);
        }
        return out;
      };
    },
  });
  return {
    connection: proxy,
    get running() {
      return running.size;
    },
    close: (options = {}) =>
      (closing ??= (async () => {
        // Statements on one connection run one after another, and DuckDB forgets an interrupt that comes before
        // a statement starts: so it is sent again until none runs.
        const again = options.interrupt ? setInterval(() => connection.interrupt(), INTERRUPT_EVERY_MS) : undefined;
        if (options.interrupt) connection.interrupt();
        try {
          while (running.size > 0) await Promise.allSettled([...running]);
        } finally {
          clearInterval(again);
        }
        connection.closeSync();
      })()),
  };
}
