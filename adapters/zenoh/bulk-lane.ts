import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { PublisherOptions, Timestamp } from '@eclipse-zenoh/zenoh-ts';
import { Backoff, errorText, spawnTsWorker, within, workerEntry } from '../../daemon/util/index.ts';
import type {
  BulkLaneLinkSettings,
  BulkLaneWorkerData,
  FromLane,
  LaneSample,
  LinkCounters,
  ToLane,
  WirePublisherOptions,
} from './bulk-lane-messages.ts';
import type { Handle, LinkPublisher, LinkState } from './zenoh-link.ts';
import type { StatusFigures } from '../../daemon/contract/index.ts';

export interface BulkLaneOptions extends BulkLaneLinkSettings {
  log: Logger;
  /** Starts the lane's thread; a test gives its own to hold the Worker (and end it). */
  spawn?: (data: BulkLaneWorkerData) => Worker;
  /** How long a close waits for the thread to close its session before it is terminated. */
  closeTimeoutMs?: number;
  /**
   * Starts the thread with the first publisher or subscriber declared after start(), rather than at start(): the lane
   * of a link that has frames only when the graph shows them runs no thread until then.
   */
  onDemand?: boolean;
}

// The thread loads zenoh-ts's .wasm as Node 20 does under this flag, instead of registering a loader hook: on Node
// 20 a hook registered in a worker leaves a MessagePort behind in the main thread when the worker exits.
const WORKER_ARGV = ['--experimental-wasm-modules', '--disable-warning=ExperimentalWarning'];

/** The lane's thread, as the daemon starts it. */
export const spawnLaneWorker = (workerData: BulkLaneWorkerData): Worker =>
  spawnTsWorker(workerEntry('adapters/zenoh/bulk-lane-worker'), {
    workerData: workerData as unknown as Record<string, unknown>,
    execArgv: WORKER_ARGV,
  });

/** The link's counters before its thread's first report; any the link adds later come with that report. */
const zeroCounters = () =>
  ({
    opens: 0,
    openFailures: 0,
    losses: 0,
    callbackErrors: 0,
    declareFailures: 0,
    routers: 0,
    keepalives: 0,
  }) as LinkCounters;

/**
 * The bulk topics' Zenoh session in a worker thread of its own: zenoh-ts encodes a put in one piece on the thread
 * that calls it (8.7-10.6 ms for 5 MB, mostly GC of its copies), so on the daemon's event loop every large sample
 * held up every small one and every timer. The daemon's thread copies each sample once into a buffer it hands over
 * (transferred, not cloned), and a put resolves with the thread's answer, so the outbound topic's queue bounds what
 * waits here as it does on the main session. The thread runs a ZenohLink (reconnects, keepalive, declarations
 * held across sessions). A thread that exits is started again with the link's backoff, its publishers declared
 * anew; the puts it held are answered false (the outbound topic counts them lost), and each exit is counted.
 * The same face as the ZenohLink it replaces for an outbound topic: declarePublisher and onUp.
 *
 * A bulk topic of the graph comes in on the same thread (declareSubscriber): the thread decodes the sample and copies
 * its bytes once into a SharedArrayBuffer, and the daemon's thread gets a reference to them, which it publishes on
 * the bus as they are; a put of such bytes (a relayed sample going out on another lane) is handed over by reference
 * too. So a relayed large sample is neither decoded nor copied on the daemon's event loop. Nobody writes shared bytes
 * after the thread filled them.
 */
export class BulkLane {
  readonly endpoint: string;
  /** The link's counters over every thread so far, and the lane's own. */
  readonly counters = {
    ...zeroCounters(),
    /** Puts the thread handed to its session. */
    sent: 0,
    /** Puts of bytes in shared memory (a sample a lane's thread received), handed over without a copy. */
    sharedPuts: 0,
    /** Samples the thread received for the daemon's subscribers, and their bytes (none of them copied here). */
    received: 0,
    receivedBytes: 0,
    threadStarts: 0,
    threadExits: 0,
    putsLostToExit: 0,
    unhandled: 0,
  };
  #settings: BulkLaneLinkSettings;
  #log: Logger;
  #spawn: (data: BulkLaneWorkerData) => Worker;
  #closeTimeoutMs: number;
  #onDemand: boolean;
  /** start() was called: a declaration may start the thread. */
  #started = false;
  /** The thread was started once; from then on its exits restart it. */
  #inUse = false;
  /** Puts made while an on-demand lane opens its first session: sent once it is up, answered false if it fails. */
  #beforeFirstSession: (() => void)[] | undefined;
  #worker: Worker | undefined;
  #threadId: number | undefined;
  /** Counters of the threads that exited, to which the live thread's are added. */
  #past: Record<string, number> = {};
  #state: LinkState = 'connecting';
  #reason: string | undefined;
  #details: StatusFigures = {};
  #lastExit: string | undefined;
  #publishers = new Map<number, { key: string; options: WirePublisherOptions }>();
  #subscribers = new Map<number, { key: string; maxBytes: number; onSample: (sample: LaneSample) => void }>();
  #nextId = 1;
  #pending = new Map<number, (ok: boolean) => void>();
  #nextSeq = 1;
  #upListeners = new Set<() => void>();
  #closing = false;
  #closed: (() => void) | undefined;
  #restart: NodeJS.Timeout | undefined;
  readonly #backoff: Backoff;
  #startedAt = 0;

  constructor(options: BulkLaneOptions) {
    const { log, spawn = spawnLaneWorker, closeTimeoutMs = 3000, onDemand = false } = options;
    const { endpoint, openTimeoutMs, responseTimeoutMs, keepaliveMs, reconnectMinMs, reconnectMaxMs } = options;
    this.endpoint = endpoint;
    this.#settings = { endpoint, openTimeoutMs, responseTimeoutMs, keepaliveMs, reconnectMinMs, reconnectMaxMs };
    this.#backoff = new Backoff({ firstMs: reconnectMinMs ?? 250, maxMs: reconnectMaxMs ?? 10_000 });
    this.#log = log;
    this.#spawn = spawn;
    this.#closeTimeoutMs = closeTimeoutMs;
    this.#onDemand = onDemand;
    if (onDemand) this.#beforeFirstSession = [];
  }

  /** Whether its thread was started: an on-demand lane nothing was declared on has neither a thread nor a session. */
  get inUse(): boolean {
    return this.#inUse;
  }

  get state(): LinkState {
    return this.#state;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  details(): StatusFigures {
    return {
      ...this.#details,
      state: this.#state,
      ...(this.#reason ? { reason: this.#reason } : {}),
      ...this.counters,
      thread: {
        id: this.#threadId,
        puts_in_flight: this.#pending.size,
        ...(this.#lastExit ? { last_exit: this.#lastExit } : {}),
      },
    };
  }

  start(): void {
    this.#started = true;
    if (!this.#onDemand || this.#publishers.size + this.#subscribers.size > 0) this.#use();
  }

  async close(): Promise<void> {
    this.#closing = true;
    clearTimeout(this.#restart);
    const worker = this.#worker;
    if (worker !== undefined) {
      const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
      const asked = new Promise<void>((resolve) => (this.#closed = resolve));
      this.#post({ type: 'close' });
      await within(asked, this.#closeTimeoutMs);
      await worker.terminate();
      await exited;
    }
    this.#setState('closed');
  }

  /** Calls `listener` each time a session is up with every publisher declared on it. */
  onUp(listener: () => void): () => void {
    this.#upListeners.add(listener);
    return () => this.#upListeners.delete(listener);
  }

  declarePublisher(key: string, options: PublisherOptions): LinkPublisher {
    const id = this.#nextId++;
    const { encoding, ...rest } = options;
    const wire: WirePublisherOptions = { ...rest, ...(encoding !== undefined ? { encoding: String(encoding) } : {}) };
    this.#publishers.set(id, { key, options: wire });
    this.#post({ type: 'declare', id, key, options: wire });
    this.#use();
    return {
      key,
      close: async () => {
        if (this.#publishers.delete(id)) this.#post({ type: 'undeclare', id });
      },
      put: (payload, attachment, timestamp) => this.#put(id, payload, attachment, timestamp),
    };
  }

  /**
   * A subscriber on the lane's session: `onSample` gets each sample with its bytes in shared memory, or, over
   * `maxBytes`, its size alone.
   */
  declareSubscriber(key: string, maxBytes: number, onSample: (sample: LaneSample) => void): Handle {
    const id = this.#nextId++;
    this.#subscribers.set(id, { key, maxBytes, onSample });
    this.#post({ type: 'subscribe', id, key, maxBytes });
    this.#use();
    return {
      close: async () => {
        if (this.#subscribers.delete(id)) this.#post({ type: 'unsubscribe', id });
      },
    };
  }

  #put(id: number, payload: Uint8Array, attachment?: Uint8Array, timestamp?: Timestamp): Promise<boolean> {
    // The publisher that started an on-demand lane could not know it was not there yet: its first puts wait for it.
    const waiting = this.#beforeFirstSession;
    if (waiting !== undefined && this.#state !== 'up')
      return new Promise((resolve) => waiting.push(() => resolve(this.#put(id, payload, attachment, timestamp))));
    const worker = this.#worker;
    if (worker === undefined || this.#state !== 'up') return Promise.resolve(false);
    if (payload.buffer instanceof SharedArrayBuffer) {
      this.counters.sharedPuts++;
      return this.#send(worker, { type: 'put', id, seq: this.#nextSeq++, payload, ...wire(attachment, timestamp) });
    }
    // The one copy: the bus message's bytes are shared with its other subscribers (the recorder), so they are
    // not given away; this copy is, and the thread encodes from it.
    const copy = Buffer.allocUnsafeSlow(payload.byteLength);
    copy.set(payload);
    const bytes = new Uint8Array(copy.buffer, 0, payload.byteLength);
    const message = { type: 'put', id, seq: this.#nextSeq++, payload: bytes, ...wire(attachment, timestamp) } as const;
    return this.#send(worker, message, [copy.buffer as ArrayBuffer]);
  }

  /** Posts a put; it resolves with the thread's answer. */
  #send(worker: Worker, message: ToLane & { type: 'put' }, transfer: ArrayBuffer[] = []): Promise<boolean> {
    return new Promise<boolean>((resolve) => {
      this.#pending.set(message.seq, resolve);
      worker.postMessage(message, transfer);
    });
  }

  #post(message: ToLane): void {
    this.#worker?.postMessage(message);
  }

  /** Starts the thread once the lane is started and in use; later threads are started by #again. */
  #use(): void {
    if (!this.#started || this.#inUse || this.#closing) return;
    this.#inUse = true;
    this.#startThread();
  }

  #startThread(): void {
    this.#startedAt = performance.now();
    let worker: Worker;
    try {
      worker = this.#spawn({ link: this.#settings, logLevel: this.#log.level });
    } catch (error) {
      // Called from a timer when restarting: a throw here would be the daemon's uncaught exception.
      return this.#again(`could not start: ${errorText(error)}`);
    }
    this.#worker = worker;
    this.#threadId = worker.threadId;
    this.counters.threadStarts++;
    let failure: string | undefined;
    worker.on('message', (m: FromLane) => this.#receive(m));
    worker.on('error', (error) => (failure = error.message));
    worker.on('exit', (code) => this.#exited(worker, failure ?? `exit code ${code}`));
    // Everything declared so far is declared again on the new thread, whose link keeps it across its sessions.
    for (const [id, { key, options }] of this.#publishers) this.#post({ type: 'declare', id, key, options });
    for (const [id, { key, maxBytes }] of this.#subscribers) this.#post({ type: 'subscribe', id, key, maxBytes });
  }

  #receive(m: FromLane): void {
    switch (m.type) {
      case 'state':
        this.#setState(m.state, m.reason);
        return;
      case 'up':
        for (const listener of this.#upListeners) listener();
        return;
      case 'put':
        if (m.ok) this.counters.sent++;
        this.#pending.get(m.seq)?.(m.ok);
        this.#pending.delete(m.seq);
        return;
      case 'sample': {
        const { type: _type, id, ...sample } = m;
        this.counters.received++;
        this.#subscribers.get(id)?.onSample(sample);
        this.counters.receivedBytes += sample.payload?.byteLength ?? 0;
        return;
      }
      case 'details':
        this.#details = m.details;
        for (const [key, value] of Object.entries({ ...m.counters, unhandled: m.unhandled }))
          (this.counters as Record<string, number>)[key] = (this.#past[key] ?? 0) + value;
        this.counters.routers = m.counters.routers; // a gauge: the live session's
        return;
      case 'log':
        this.#relayLog(m.line);
        return;
      case 'closed':
        this.#closed?.();
    }
  }

  /** A line of the thread's logger, logged by the daemon's at the same level with the lane named. */
  #relayLog(line: string): void {
    try {
      const { level, msg, ...fields } = JSON.parse(line) as { level: number; msg?: string };
      const label = this.#log.levels.labels[level] as 'info' | 'warn' | 'error' | 'debug' | 'trace' | 'fatal';
      this.#log[label]({ ...fields, lane: 'bulk' }, msg ?? '');
    } catch {
      this.#log.warn({ line, lane: 'bulk' }, 'zenoh bulk lane: a log line that is not JSON');
    }
  }

  #exited(worker: Worker, why: string): void {
    if (this.#worker !== worker) return;
    this.#worker = undefined;
    this.#past = { ...this.counters };
    // The puts the thread held are lost with it: the outbound topic counts each (linkDrops).
    this.counters.putsLostToExit += this.#pending.size;
    for (const resolve of this.#pending.values()) resolve(false);
    this.#pending.clear();
    this.#again(why);
  }

  /** Counts a thread gone (or never started) and starts another after the link's backoff. */
  #again(why: string): void {
    if (this.#closing) return;
    this.counters.threadExits++;
    this.#lastExit = why;
    // A thread that ran a while starts the backoff over; one that dies at once keeps backing off.
    if (performance.now() - this.#startedAt > (this.#settings.reconnectMaxMs ?? 10_000)) this.#backoff.reset();
    const delay = this.#backoff.next();
    this.#log.error(
      { endpoint: this.endpoint, reason: why, exits: this.counters.threadExits, restart_in_ms: delay },
      'zenoh: the bulk lane thread exited; starting it again',
    );
    this.#setState('down', `the bulk lane thread exited (${why}); starting it again`);
    this.#restart = setTimeout(() => this.#startThread(), delay);
    this.#restart.unref();
  }

  #setState(state: LinkState, reason?: string): void {
    this.#state = state;
    this.#reason = reason;
    const waiting = this.#beforeFirstSession;
    if (waiting !== undefined && state !== 'connecting') {
      this.#beforeFirstSession = undefined;
      for (const put of waiting) put();
    }
  }
}

/** A put's attachment and timestamp as they cross to the thread. */
const wire = (attachment: Uint8Array | undefined, timestamp: Timestamp | undefined) => ({
  ...(attachment ? { attachment } : {}),
  ...(timestamp ? { timestamp: { zid: timestamp.getId().toLeBytes(), ntp64: timestamp.getNtp64() } } : {}),
});
