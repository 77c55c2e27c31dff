import type { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { relayThreadLog } from '../log.ts';
import type { RobotHaltAuthority, RobotHaltOutcome } from '../contract/index.ts';
import type { ListenerHalts } from '../mcp/index.ts';
import { closeWorker, spawnTsWorker, workerEntry } from '../util/index.ts';
import type { SchedulingRequest } from '../util/index.ts';
import { apiGate } from './auth.ts';
import { errorReply } from './errors.ts';
import type { FromListener, HaltListenerData, ToListener } from './halt-listener-messages.ts';

export interface HaltListenerOptions {
  haltAuthority: RobotHaltAuthority;
  host: string;
  port: number;
  token: string;
  /** The API's URL, which the listener names for every route but its own. */
  apiUrl: string;
  log: Logger;
  /** The thread's scheduling (motion.stop.scheduling and its keys); unset: SCHED_FIFO 60, else nice -10. */
  scheduling?: SchedulingRequest;
  /**
   * With `mcp.enabled`: the MCP gateway's part (the listener takes MCP's /mcp too, a POST's stop calls first, and
   * relays it to the API's), and the API's body limit, which the relay holds too.
   */
  mcp?: { stops: ListenerHalts; bodyLimit: number };
  /** Starts the thread; a test gives its own. */
  spawn?: (data: HaltListenerData) => Worker;
}

/** An off-loop zero's module may import WebAssembly (zenoh-ts does), as the bulk lane's thread does. */
const WORKER_ARGV = ['--experimental-wasm-modules', '--disable-warning=ExperimentalWarning'];

export const spawnHaltListener = (data: HaltListenerData): Worker =>
  spawnTsWorker(workerEntry('daemon/api/halt-listener-worker'), {
    workerData: data as unknown as Record<string, unknown>,
    execArgv: WORKER_ARGV,
  });

/**
 * POST /stop on a thread of its own, on a port of its own (motion.stop.port), so the operator's stop never queues
 * behind what the daemon's event loop is doing (the API, event streams, queries, the bridges, the recorder).
 * The thread counts the stop on the stop line at once (the control loops' threads and the sim hold from their
 * next tick, latch or none), sends the off-loop zero commands itself (the Zenoh graph's, on a session of its
 * own), and answers; the main thread hears of it by message and takes the rest through the daemon's one stop
 * (RobotHaltAuthority.halt): the hooks, the zero Twist on the bus (ROS 2 included), the latch and its file, the
 * journal. Asked for it (`POST /stop?report=full`: the CLI, the status page), it answers with that stop's full
 * report, as the API's POST /stop does, once the main thread has it. With `mcp.enabled` it takes MCP's /mcp too
 * (halt-listener-mcp.ts): a stop tool call is taken there as a POST /stop is, through the MCP gateway's ListenerStops
 * on this thread, and the request goes on to the API's /mcp, which answers it. It is held to the API's own gate (Host,
 * token, cross-site; the API's own page is let in by CORS to POST /stop), and serves nothing else: the latch is
 * released through the API alone.
 */
export class HaltListener {
  readonly #haltAuthority: RobotHaltAuthority;
  readonly #data: HaltListenerData;
  readonly #log: Logger;
  readonly #spawn: (data: HaltListenerData) => Worker;
  readonly #mcpHalts: ListenerHalts | undefined;
  #worker: Worker | undefined;
  #url: string | undefined;
  #scheduling: { summary: string; tid: number } | undefined;
  #unlisten: (() => void) | undefined;
  #zeroes = new Map<number, (zeroes: { zeroed: string[]; failed: Record<string, string> }) => void>();
  #closing = false;
  /** Stops this listener took, and those whose off-loop zero commands failed in part. */
  readonly counters = { stops: 0, zeroFailures: 0, threadExits: 0, floodDemotions: 0 };

  constructor(options: HaltListenerOptions) {
    const { haltAuthority, host, port, token, apiUrl, log, mcp, spawn = spawnHaltListener } = options;
    const scheduling = options.scheduling ?? { policy: 'fifo', rtPriority: 60, nice: -10 };
    this.#haltAuthority = haltAuthority;
    this.#log = log;
    this.#spawn = spawn;
    this.#mcpHalts = mcp?.stops;
    this.#data = {
      line: haltAuthority.haltLine,
      host,
      port,
      gate: apiGate({ host, token }),
      apiUrl,
      zeros: [],
      logLevel: log.level,
      scheduling,
      ...(mcp ? { mcp: { pass: mcp.stops.pass, bodyLimit: mcp.bodyLimit } } : {}),
    };
  }

  /** Where it listens (`http://127.0.0.1:7401`), once started. */
  get url(): string | undefined {
    return this.#url;
  }

  /** What its thread runs with ("SCHED_OTHER nice -10"), with why not when refused, and its Linux thread id. */
  get scheduling(): { summary: string; tid: number } | undefined {
    return this.#scheduling;
  }

  /** Starts the thread; resolves once it listens, rejects when it cannot (the port in use, named). */
  async start(): Promise<void> {
    this.#unlisten?.(); // a thread started again listens once
    const { zeros, unlisten } = this.#haltAuthority.offLoopZeros((z) => this.#post({ type: 'zeros', zeros: [...z] }));
    this.#unlisten = unlisten;
    const worker = this.#spawn({ ...this.#data, zeros: [...zeros] });
    this.#worker = worker;
    const listening = await new Promise<Extract<FromListener, { type: 'listening' }>>((resolve, reject) => {
      worker.on('message', (m: FromListener) => {
        if (m.type === 'listening') resolve(m);
        else if (m.type === 'failed') reject(this.#listenError(m));
        else this.#onMessage(m);
      });
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the stop listener's thread exited (${code}) before listening`)));
    }).catch(async (error: Error) => {
      this.#unlisten?.();
      await worker.terminate();
      throw error;
    });
    const host = listening.family === 'IPv6' ? `[${listening.address}]` : listening.address;
    this.#url = `http://${host}:${listening.port}`;
    this.#scheduling = { summary: listening.scheduling, tid: listening.tid };
    if (listening.refused)
      this.#log.warn(
        { scheduling: listening.scheduling },
        "stop listener: its thread's priority was refused; it runs at the daemon's, and a loaded machine delays its stops",
      );
    // A later start (after the thread died) binds the port it had, which api.json and /status name.
    this.#data.port = listening.port;
    worker.on('exit', (code) => this.#exited(code));
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#unlisten?.();
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    const closed = await closeWorker(worker, () => worker.postMessage({ type: 'close' } satisfies ToListener), 2000);
    if (!closed) await worker.terminate();
  }

  #post(m: ToListener): void {
    this.#worker?.postMessage(m);
  }

  #onMessage(m: FromListener): void {
    switch (m.type) {
      case 'stop':
        this.#take(m);
        return;
      case 'zeroed': {
        const done = this.#zeroes.get(m.id);
        this.#zeroes.delete(m.id);
        if (Object.keys(m.failed).length > 0) {
          this.counters.zeroFailures++;
          this.#log.error(
            { zeroed: m.zeroed, failed: m.failed },
            "stop listener: some of the stop's own zero commands did not go out; the daemon's zero Twist follows on the bus",
          );
        }
        done?.({ zeroed: m.zeroed, failed: m.failed });
        return;
      }
      case 'log':
        relayThreadLog(this.#log, m.line, 'stop listener');
        return;
      case 'scheduling':
        if (this.#scheduling) this.#scheduling = { ...this.#scheduling, summary: m.scheduling };
        if (m.demoted) this.counters.floodDemotions++;
        return;
    }
  }

  /** The main thread's part of a listener's stop: the daemon's one stop, told what the thread did. */
  #take(m: Extract<FromListener, { type: 'stop' }>): void {
    this.counters.stops++;
    const zeroes = new Promise<{ zeroed: string[]; failed: Record<string, string> }>((resolve) =>
      this.#zeroes.set(m.id, resolve),
    );
    this.#haltTaken(m, { at: m.at, zeroes }).then(
      (outcome) => m.report && this.#post({ type: 'report', id: m.id, status: 200, body: outcome }),
      (error: Error) => {
        // The daemon's stop logged what it did and why not; this says where it came from.
        this.#log.error({ by: m.by, err: error.message }, 'stop listener: the daemon could not stop the robot');
        if (m.report) this.#post({ type: 'report', id: m.id, ...errorReply(error) });
      },
    );
  }

  /**
   * The daemon's one stop for the listener's stop `m`: a stop tool call on its /mcp through the MCP gateway (by the
   * session's client, kept for the call's answer), whose request the thread relays to the API's /mcp once told here.
   */
  #haltTaken(
    m: Extract<FromListener, { type: 'stop' }>,
    offLoop: { at: string; zeroes: Promise<{ zeroed: string[]; failed: Record<string, string> }> },
  ): Promise<RobotHaltOutcome> {
    const reason = m.reason ?? undefined;
    if (!m.mcp || !this.#mcpHalts) return this.#haltAuthority.halt(m.by, reason, offLoop);
    try {
      return this.#mcpHalts.take({ ...m.mcp, reason }, offLoop);
    } finally {
      this.#post({ type: 'taken', id: m.id });
    }
  }

  #exited(code: number): void {
    if (this.#closing) return;
    this.counters.threadExits++;
    for (const done of this.#zeroes.values()) done({ zeroed: [], failed: { listener: 'its thread exited' } });
    this.#zeroes.clear();
    this.#log.error(
      { code, url: this.#url },
      'stop listener: its thread exited; starting it again (POST /stop on the API still stops the robot meanwhile)',
    );
    this.#worker = undefined;
    // No thread takes stops until it is back: what it served off the loop (agent/stop over Zenoh) goes back to the
    // main loop meanwhile, and comes to the thread again when it listens.
    this.#unlisten?.();
    this.#unlisten = undefined;
    setTimeout(() => {
      if (!this.#closing)
        this.start().catch((error: Error) =>
          this.#log.error({ err: error.message }, 'stop listener: could not start again'),
        );
    }, 1000).unref();
  }

  #listenError(m: Extract<FromListener, { type: 'failed' }>): Error {
    const { host, port } = this.#data;
    if (m.code === 'EADDRINUSE')
      return new Error(
        `api: the stop listener's ${host}:${port} is in use (another daemon?): set motion.stop.port to a free port, or 0 for any`,
      );
    return new Error(`api: the stop listener cannot listen on ${host}:${port}: ${m.message}`);
  }
}
