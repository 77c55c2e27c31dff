import type { IPublishPacket } from 'mqtt';
import type { Worker } from 'node:worker_threads';
import { relayThreadLog, type Logger } from '../daemon/log.ts';
import { closeWorker, spawnTsWorker, workerEntry } from '../daemon/util/index.ts';
import type { CentralSettings, EdgeConfig } from '../daemon/config/index.ts';
import { COUNTER_PROPERTY } from './command-signature.ts';
import { commandCounterPath } from './command-signature-counter.ts';
import { claimHalt, haltClaimsBuffer } from './halt-claims.ts';
import { haltIntentId } from './halt-intent.ts';
import { stopLogin, type CentralTopics } from './topics.ts';
import type {
  FromHaltConnection,
  HaltConnectionData,
  HaltConnectionState,
  ToHaltConnection,
} from './halt-connection-messages.ts';
import { HaltLine } from '../daemon/halt/index.ts';

export interface HaltConnectionOptions {
  /** What its thread is started with: the robot's session, central's keys, the line's buffer. */
  data: HaltConnectionData;
  /** The link's halt for a stop intent as it reads one (IntentIntake.haltFirst): the main thread's part. */
  halt: (payload: Buffer, packet: { retain?: boolean }) => void;
  log: Logger;
  /** Starts the thread; a test gives its own. */
  spawn?: (data: HaltConnectionData) => Worker;
}

/** How many counters of stops already halted are remembered: far more than central sends within their window. */
const HALTED_KEPT = 1024;
/** How long a thread that died waits before it starts again. */
const RESTART_MS = 1000;

/** What status shows of the stop connection. */
export type HaltConnectionStatus = Partial<HaltConnectionState> & {
  client_id: string;
  /** The stop login it connects as (the robot's id with /intents), when the link has a login. */
  login?: string;
  scheduling?: string;
  /** Stops this path marked on the line, and stop-looking messages it refused (by reason). */
  stops: number;
  refused: Record<string, number>;
  thread_exits: number;
};

/**
 * The stop connection motion.stop.central_connection asks for, or why it cannot run (it reads central's signed stop
 * intents, so it needs intents and a key); undefined when it is off.
 */
export function haltConnectionFor(options: {
  settings: CentralSettings;
  /** The link's own session (sessionOptions): the same broker, password and CA. */
  session: Omit<
    HaltConnectionData,
    | 'line'
    | 'claims'
    | 'topic'
    | 'fleet'
    | 'robot'
    | 'keys'
    | 'counterPath'
    | 'maxIntentBytes'
    | 'scheduling'
    | 'logLevel'
  > & { cert?: Buffer };
  topics: CentralTopics;
  config: Pick<EdgeConfig, 'motion' | 'robot'>;
  haltLine: SharedArrayBuffer;
  dataDir: string;
  log: Logger;
  halt: HaltConnectionOptions['halt'];
}): HaltConnection | string | undefined {
  const { settings: s, session, topics, config, haltLine, dataDir, log, halt } = options;
  if (!config.motion.stop.central_connection) return undefined;
  if (!s.intents) return 'central.intents is false: there are no stop intents to read';
  if (s.command_keys.length === 0)
    return "no key of central's is pinned (central.command_keys): it takes signed stops only";
  const { scheduling: policy, rt_priority: rtPriority, nice } = config.motion.stop;
  const { url, clientId, username, password, ca, cert } = session;
  const { keepaliveS, connectTimeoutMs, reconnectMinMs, reconnectMaxMs } = session;
  // The robot's own identity on a second connection would take the link's session where the broker makes a login's
  // client id its username (`central acl`'s conf): this one logs in as the robot's stop login, and never with the
  // link's client certificate, which such a broker may take for the username.
  if (cert && !username)
    return 'the link logs in by its client certificate alone (central.cert_file): the stop connection needs the stop login, a username and password';
  return new HaltConnection({
    data: {
      line: haltLine,
      claims: haltClaimsBuffer(),
      url,
      // Not a robot id's characters: no robot's own client id can be this one.
      clientId: `${clientId}/stop`,
      ...(username ? { username: stopLogin(config.robot.id) } : {}),
      ...(password ? { password } : {}),
      ...(ca ? { ca } : {}),
      keepaliveS,
      connectTimeoutMs,
      reconnectMinMs,
      reconnectMaxMs,
      topic: topics.intents,
      fleet: config.robot.fleet,
      robot: config.robot.id,
      keys: s.command_keys,
      counterPath: commandCounterPath(dataDir),
      maxIntentBytes: s.max_intent_bytes,
      scheduling: { policy, rtPriority, nice },
      logLevel: log.level,
    },
    halt,
    log,
  });
}

export const spawnHaltConnection = (data: HaltConnectionData): Worker =>
  spawnTsWorker(workerEntry('central-link/halt-connection-worker'), {
    workerData: data as unknown as Record<string, unknown>,
  });

/**
 * Central's stop off the daemon's event loop (motion.stop.central_connection): a thread of its own holds a second MQTT
 * connection (the link's client id with `/stop`, the robot's stop login: stopLogin), checks each stop intent on the
 * intents topic as the link does (central's key, this robot, a counter not taken, its expiry) and marks it on the stop
 * line at once: the control loops' threads and the sim hold from their next tick, whatever the event loop is doing. The
 * main thread then halts as the link's reader does for a stop (IntentIntake.haltFirst) and takes the line's mark; the
 * link reads the same intent on its own connection, runs and acks it as any. Whichever reads a stop first marks the
 * line and halts, once: the stops halted for are kept by their signed counter, and the link's counters go to the
 * thread, which refuses them from then on (a replay that the link took while this connection was down marks nothing).
 */
export class HaltConnection {
  readonly #data: HaltConnectionData;
  readonly #halt: HaltConnectionOptions['halt'];
  readonly #log: Logger;
  readonly #spawn: (data: HaltConnectionData) => Worker;
  readonly #line: HaltLine;
  /** Counters of the stops the main thread halted for, oldest first. */
  readonly #halted = new Set<string>();
  #worker: Worker | undefined;
  #closing = false;
  #state: HaltConnectionState | undefined;
  #scheduling: string | undefined;
  /** The last error logged (#sayError). */
  #said: string | undefined;
  readonly #counts = { stops: 0, refused: {} as Record<string, number>, threadExits: 0 };

  constructor(options: HaltConnectionOptions) {
    const { data, halt, log, spawn = spawnHaltConnection } = options;
    this.#data = data;
    this.#halt = halt;
    this.#log = log;
    this.#spawn = spawn;
    this.#line = new HaltLine(data.line);
  }

  start(): void {
    const worker = this.#spawn(this.#data);
    this.#worker = worker;
    worker.on('message', (m: FromHaltConnection) => this.#onMessage(m));
    worker.on('error', (error) =>
      this.#log.error({ err: error.message }, 'central stop connection: its thread failed'),
    );
    worker.on('exit', (code) => this.#exited(worker, code));
  }

  async close(): Promise<void> {
    this.#closing = true;
    const worker = this.#worker;
    this.#worker = undefined;
    if (!worker) return;
    const ask = () => worker.postMessage({ type: 'close' } satisfies ToHaltConnection);
    if (!(await closeWorker(worker, ask, 2000))) await worker.terminate();
  }

  /**
   * The link read a command central's key verified (or the file's opt-out took): a stop intent is marked on the line
   * and halts unless the thread's path did so already; its counter goes to the thread either way.
   */
  linkRead(payload: Buffer, packet: IPublishPacket): void {
    const counter = packet.properties?.userProperties?.[COUNTER_PROPERTY];
    // Unsigned (the file's opt-out): this path never takes one, so the link halts for it as ever.
    if (typeof counter !== 'string') return this.#halt(payload, packet);
    this.#worker?.postMessage({ type: 'seen', counter } satisfies ToHaltConnection);
    if (!this.#remember(counter)) return;
    if (haltIntentId(payload, packet.retain, this.#data.maxIntentBytes) === undefined) return;
    // The thread claimed it first: its mark is on the line and its message takes it; the halt need not wait for that.
    if (!claimHalt(this.#data.claims, counter)) return this.#halt(payload, packet);
    // Read here first (the thread's copy comes later, or never while its connection is down): the line is marked here,
    // so each of central's stops reaches it once, whichever path read it first.
    this.#line.haltedOffLoop();
    try {
      this.#halt(payload, packet);
    } finally {
      this.#line.taken();
    }
  }

  status(): HaltConnectionStatus {
    const { stops, refused, threadExits } = this.#counts;
    return {
      client_id: this.#data.clientId,
      ...(this.#data.username ? { login: this.#data.username } : {}),
      ...(this.#state ?? { state: 'connecting' }),
      ...(this.#scheduling ? { scheduling: this.#scheduling } : {}),
      stops,
      refused: { ...refused },
      thread_exits: threadExits,
    };
  }

  #onMessage(m: FromHaltConnection): void {
    switch (m.type) {
      case 'stop':
        return this.#take(m);
      case 'state':
        this.#sayError(m.connection);
        this.#state = m.connection;
        return;
      case 'refused':
        this.#counts.refused[m.code] = (this.#counts.refused[m.code] ?? 0) + 1;
        return;
      case 'scheduling':
        this.#scheduling = m.scheduling;
        return;
      case 'log':
        return relayThreadLog(this.#log, m.line, 'central stop connection');
      case 'closed':
        return;
    }
  }

  /**
   * Logs why the connection is down once, not at each try: a broker that refuses the stop login refuses it every few
   * seconds until its conf changes. Said again after the connection was up.
   */
  #sayError({ state, last_error: reason }: HaltConnectionState): void {
    if (state === 'connected') this.#said = undefined;
    if (!reason || reason === this.#said) return;
    this.#said = reason;
    this.#log.warn({ state, reason }, 'central stop connection');
  }

  /** The thread marked a stop on the line: the main thread halts for it (unless the link did) and takes the mark. */
  #take(m: Extract<FromHaltConnection, { type: 'stop' }>): void {
    this.#counts.stops++;
    try {
      if (this.#remember(m.counter)) this.#halt(Buffer.from(m.payload), {});
    } finally {
      this.#line.taken();
    }
  }

  /** Notes that the stop with `counter` halted; false when it had already. */
  #remember(counter: string): boolean {
    if (this.#halted.has(counter)) return false;
    this.#halted.add(counter);
    if (this.#halted.size > HALTED_KEPT) this.#halted.delete(this.#halted.values().next().value!);
    return true;
  }

  #exited(worker: Worker, code: number): void {
    if (this.#closing || worker !== this.#worker) return;
    this.#worker = undefined;
    this.#counts.threadExits++;
    this.#state = { state: 'offline', connects: this.#state?.connects ?? 0, last_error: `its thread exited (${code})` };
    this.#log.error(
      { code },
      "central stop connection: its thread exited; starting it again (central's stops still come through the link)",
    );
    setTimeout(() => {
      if (!this.#closing) this.start();
    }, RESTART_MS).unref();
  }
}
