import { fork, type ChildProcess } from 'node:child_process';
import { sleep, workerEntry, type LowPriority } from '../util/index.ts';
import {
  collectRows,
  QueryRefused,
  type QueryColumn,
  type QueryOptions,
  type QueryResult,
  type RowSink,
  type StreamSummary,
} from './query.ts';

/**
 * Where the query process runs its threads: nice 19, a share of about 1.5% of a CPU against each thread at nice 0 (the
 * daemon's event loop, its writers, other work on the robot), and none against the loops' SCHED_FIFO threads. Not
 * SCHED_IDLE: its fifth of that share left a query minutes to run on a saturated robot (test:stress, 2026-11-29).
 */
export const QUERY_PRIORITY: LowPriority = 'nice19';

/** The options that cross to the query process (a signal crosses as a cancel message, a callback not at all). */
type ChildOptions = Pick<QueryOptions, 'timeoutMs' | 'maxRows' | 'maxBytes' | 'catalogWaitMs'>;

export type ToQueryChild =
  | { op: 'query'; id: number; dataDir: string; sql: string; restartable: boolean; options: ChildOptions }
  | { op: 'cancel'; id: number };

export type FromQueryChild =
  | { op: 'lowered'; scheduling: string }
  | { op: 'start'; id: number; columns: QueryColumn[]; warnings: string[] }
  | { op: 'rows'; id: number; rows: unknown[][] }
  | { op: 'done'; id: number; summary: StreamSummary }
  | { op: 'error'; id: number; name: string; message: string };

interface Pending {
  child: ChildProcess;
  sink: RowSink;
  resolve: (summary: StreamSummary) => void;
  reject: (error: Error) => void;
}

/** The query process ended while a query ran in it: the query is lost, the next one starts the process anew. */
export class QueryProcessExited extends Error {
  override name = 'QueryProcessExited';
}

/** How long the process has to exit at close before it is killed. */
const CLOSE_WAIT_MS = 2000;

/**
 * Runs the lakehouse's queries in a child process of their own whose every thread runs at QUERY_PRIORITY: DuckDB's
 * worker threads, the libuv threads its calls block, and the child's GC never take a CPU from the stop listener,
 * the control loop or the daemon's event loop, nor its libuv threads from the daemon's file I/O; a query that
 * crashes DuckDB or runs out of memory ends the child, not the daemon. The child starts with the first query, runs
 * queries side by side, and a query after it exited starts it anew. Rows, limits, warnings and errors are
 * streamLakehouse's, as if it ran in the daemon; `viewsDefined` does not cross (tests use streamLakehouse for it).
 */
export class QueryProcess {
  readonly #entry: URL;
  #child: ChildProcess | undefined;
  #pending = new Map<number, Pending>();
  #nextId = 1;
  #scheduling = 'not started';
  /** Set by close(): a process started for a query after it (a closed lakehouse still answers) ends with it. */
  #closed = false;

  constructor(options: { entry?: URL } = {}) {
    const { entry = workerEntry('daemon/lakehouse/query-child') } = options;
    this.#entry = entry;
  }

  /** The query process's pid, while it runs. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** queryLakehouse in the query process. */
  query(dataDir: string, sql: string, options: QueryOptions = {}): Promise<QueryResult> {
    return collectRows((sink) => this.stream(dataDir, sql, sink, options));
  }

  /** What the query process's threads run with ("SCHED_OTHER nice 19"), or why they were not lowered. */
  get scheduling(): string {
    return this.#scheduling;
  }

  /** streamLakehouse in the query process: `sink` gets the rows a batch at a time, in order. */
  stream(dataDir: string, sql: string, sink: RowSink, options: QueryOptions = {}): Promise<StreamSummary> {
    const { timeoutMs, maxRows, maxBytes, catalogWaitMs, signal } = options;
    const child = this.#started();
    const id = this.#nextId++;
    return new Promise<StreamSummary>((resolve, reject) => {
      const cancel = () => child.send({ op: 'cancel', id } satisfies ToQueryChild);
      const settle = () => {
        signal?.removeEventListener('abort', cancel);
        this.#pending.delete(id);
        if (this.#pending.size > 0) return;
        if (this.#closed && child.connected)
          child.disconnect(); // no close() comes after this one
        else child.channel?.unref();
      };
      this.#pending.set(id, {
        child,
        sink,
        resolve: (summary) => (settle(), resolve(summary)),
        reject: (error) => (settle(), reject(error)),
      });
      child.channel?.ref();
      const options: ChildOptions = { timeoutMs, maxRows, maxBytes, catalogWaitMs };
      child.send({ op: 'query', id, dataDir, sql, restartable: sink.restartable === true, options } as ToQueryChild);
      signal?.addEventListener('abort', cancel, { once: true });
      if (signal?.aborted) cancel();
    });
  }

  /**
   * Ends the query process once the queries in it have answered (a signal given to them stops them first), or
   * after CLOSE_WAIT_MS: queries still in it then fail, and it is killed if it has not exited.
   */
  async close(): Promise<void> {
    this.#closed = true;
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = performance.now() + CLOSE_WAIT_MS;
    while ([...this.#pending.values()].some((p) => p.child === child) && performance.now() < deadline) await sleep(10);
    if (child.connected) child.disconnect();
    const timer = setTimeout(() => child.kill('SIGKILL'), CLOSE_WAIT_MS);
    await exited;
    clearTimeout(timer);
  }

  #started(): ChildProcess {
    if (this.#child && this.#child.connected) return this.#child;
    const typescript = this.#entry.pathname.endsWith('.ts');
    const child = fork(this.#entry, [], {
      // The daemon's own flags are not the query process's; from the sources it loads TypeScript through tsx.
      execArgv: typescript ? ['--import', import.meta.resolve('tsx')] : [],
      serialization: 'advanced', // structured clone: a row's values cross as the in-process sink gets them
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    child.unref();
    child.channel?.unref();
    child.on('message', (message: FromQueryChild) => this.#received(message));
    const ended = (how: string) => {
      if (this.#child === child) this.#child = undefined;
      for (const pending of [...this.#pending.values()])
        if (pending.child === child)
          pending.reject(
            new QueryProcessExited(`the query process ${how} while this query ran in it; run the query again`),
          );
    };
    child.once('exit', (code, signal) => ended(`(pid ${child.pid}) ended (${signal ?? `code ${code}`})`));
    // A process that could not start emits no exit; one that ended answers a send with this too (its exit follows).
    child.on('error', (error) => {
      if (child.pid === undefined) ended(`could not start: ${error.message}`);
    });
    this.#child = child;
    return child;
  }

  #received(message: FromQueryChild): void {
    if (message.op === 'lowered') {
      this.#scheduling = message.scheduling;
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) return; // a query that already failed with its process
    switch (message.op) {
      case 'start':
        return pending.sink.start(message.columns, message.warnings);
      case 'rows':
        for (const row of message.rows) pending.sink.row(row);
        return;
      case 'done':
        return pending.resolve(message.summary);
      case 'error': {
        const error = message.name === 'QueryRefused' ? new QueryRefused(message.message) : new Error(message.message);
        if (message.name !== 'QueryRefused') error.name = message.name;
        return pending.reject(error);
      }
    }
  }
}
