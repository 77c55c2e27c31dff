import type { Logger } from 'pino';
import type { Bus, MessageCodec } from '../bus/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { Journal, RobotHaltAuthority, RobotHaltOutcome, HaltReleaseOutcome } from '../contract/index.ts';
import type { OffLoopHalt, OffLoopZero } from '../contract/index.ts';
import type { HaltHook, HaltHookOutcome, HaltHookReport, HaltTick } from '../contract/index.ts';
import { newId, nowNs, errorText } from '../util/index.ts';
import { governedTopics, sendZeroVelocity, TWIST, TWIST_STAMPED, VELOCITY_TYPES } from '../motion/index.ts';
import { haltEvent, HALT_EVENT_KINDS, type HaltEventPayload } from './halt-event.ts';
import { RobotNotHaltedError, type HaltOrder } from './halt-order.ts';
import { latchReport, HaltLatch } from './halt-latch.ts';
import { within } from '../util/index.ts';

/** How long a stop's reply waits for the hooks' cancels, the latch file and the stop's event to be written. */
export const HALT_REPLY_WAIT_MS = 1000;

export interface HaltAuthorityOptions {
  bus: Bus;
  codec: MessageCodec;
  config: EdgeConfig;
  dataDir: string;
  /** The daemon's journal; undefined while it is not open (a stop then is logged, and says it was not journaled). */
  journal: () => Journal | undefined;
  log: Logger;
  replyWaitMs?: number;
  /** Writes the latch file durably; the daemon passes its sync thread's (see SyncThread). */
  writeDurably?: (path: string, text: string) => Promise<void>;
}

/**
 * The one owner of the operator's stop, built by the daemon beside the bus and the journal and handed to every
 * component (ComponentContext.haltAuthority). Whichever door a stop comes in by (POST /stop, the bus query agent/stop,
 * the status page, the agent's own), it does the same, in one tick: each registered hook ends its drive, one
 * zero command goes to every velocity topic the limits govern (of the type each carries), and the latch
 * engages. Then, within a bounded wait, the hooks' cancels, the latch file and the stop's event in the journal
 * (`stop.engaged`, and `stop.released` for a release: who, why, where the robot was, what was cancelled), which
 * the lakehouse and central read as they read every agent event.
 */
export class HaltAuthority implements RobotHaltAuthority {
  readonly latch: HaltLatch;
  readonly #bus: Bus;
  readonly #codec: MessageCodec;
  readonly #journal: () => Journal | undefined;
  readonly #log: Logger;
  readonly #waitMs: number;
  readonly #hooks = new Map<string, HaltHook>();
  #config: EdgeConfig;
  /** The last odometry message, decoded only when a stop asks where the robot was. */
  #lastOdom: () => { data: Uint8Array; type: string } | undefined = () => undefined;
  #halts = 0;
  #releases = 0;
  readonly #offLoopZeros = new Map<string, OffLoopZero>();
  readonly #offLoopListeners = new Set<(zeros: ReadonlyMap<string, OffLoopZero>) => void>();
  readonly #takerListeners = new Set<(present: boolean) => void>();
  #takerPresent = false;
  /** What the last stop did in its own tick (haltNow). */
  #lastTick: HaltTick = { aborted: null, held: [], notHeld: {} };

  constructor(options: HaltAuthorityOptions) {
    const { bus, codec, config, dataDir, journal, log, replyWaitMs = HALT_REPLY_WAIT_MS, writeDurably } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#config = config;
    this.#journal = journal;
    this.#log = log;
    this.#waitMs = replyWaitMs;
    this.latch = new HaltLatch({ dataDir, enabled: config.motion.stop.latch, writeDurably });
    this.#watchPose();
  }

  /** The stop line's shared memory: what the daemon's threads read of the stop (see HaltLine). */
  get haltLine(): SharedArrayBuffer {
    return this.latch.line.buffer;
  }

  setOffLoopZero(name: string, zero: OffLoopZero | undefined): void {
    if (zero) this.#offLoopZeros.set(name, zero);
    else if (!this.#offLoopZeros.delete(name)) return;
    for (const listener of this.#offLoopListeners) listener(this.#offLoopZeros);
  }

  offLoopZeros(listener?: (zeros: ReadonlyMap<string, OffLoopZero>) => void) {
    if (listener) {
      this.#offLoopListeners.add(listener);
      this.#tellTakers();
    }
    return {
      zeros: this.#offLoopZeros as ReadonlyMap<string, OffLoopZero>,
      unlisten: () => {
        if (listener && this.#offLoopListeners.delete(listener)) this.#tellTakers();
      },
    };
  }

  offLoopTaker(listener: (present: boolean) => void): { present: boolean; unlisten: () => void } {
    this.#takerListeners.add(listener);
    return { present: this.#takerPresent, unlisten: () => void this.#takerListeners.delete(listener) };
  }

  /**
   * Tells offLoopTaker's listeners whether a thread takes stops now, when that changed: after the tick, so a listener
   * starting its thread again (unlisten, then listen) is no change.
   */
  #tellTakers(): void {
    queueMicrotask(() => {
      const present = this.#offLoopListeners.size > 0;
      if (present === this.#takerPresent) return;
      this.#takerPresent = present;
      for (const listener of this.#takerListeners) listener(present);
    });
  }

  /** Stops and releases since the daemon started. */
  get counters(): { stops: number; releases: number } {
    return { stops: this.#halts, releases: this.#releases };
  }

  /** Why no motion may start now (the stop is latched), or undefined. */
  refusal(): string | undefined {
    return this.latch.refusal();
  }

  /**
   * Registers a hook under `name` (one per name: a component restarted by a reload replaces its own).
   * Returns what unregisters it (only the hook it registered).
   */
  onHalt(name: string, hook: HaltHook): () => void {
    this.#hooks.set(name, hook);
    return () => {
      if (this.#hooks.get(name) === hook) this.#hooks.delete(name);
    };
  }

  /** A reload's config: the velocity topics and motion.stop.latch of the next stop. */
  applySettings(config: EdgeConfig): void {
    const odomChanged = config.agent.navigation.odom_topic !== this.#config.agent.navigation.odom_topic;
    this.#config = config;
    this.latch.setEnabled(config.motion.stop.latch);
    // Turned on: a latch file from before, not obeyed while it was off, holds from now on.
    this.latch.load();
    if (odomChanged) this.#watchPose();
  }

  /** Reads the latch file at the daemon's start: a stop latched before it holds from now on. */
  load(): ReturnType<HaltLatch['load']> {
    return this.latch.load();
  }

  /**
   * The operator's stop. Throws RobotNotStoppedError when the zero command could not be sent to the
   * velocity topic (its runs are cancelled and the latch engaged all the same): a person must stop the robot
   * another way.
   */
  async halt(by: string, reason?: string, offLoop?: OffLoopHalt): Promise<RobotHaltOutcome> {
    const order: HaltOrder = { by, reason };
    // The line first, whichever door the stop came in by: the threads that drive the robot (the control loops, the
    // sim) hold from their next tick, before the hooks and the zero commands below. The listener's stop is on it.
    if (!offLoop) this.latch.line.haltedOffLoop();
    const stopId = newId();
    this.#halts++;
    const topic = this.#config.motion.velocity.topic;
    const hooks = [...this.#hooks].map(([name, hook]) => ({ name, outcome: this.#runHook(name, hook, order) }));
    const zeroedByHooks = new Set(hooks.flatMap(({ outcome }) => outcome.zeroed ?? []));
    const hookError = hooks.find(({ outcome }) => outcome.zeroError)?.outcome.zeroError;
    const { zeroed, failed } = this.#zeroGoverned(zeroedByHooks);
    const ownError = failed.get(topic);
    const zeroError =
      hookError ?? (ownError && new Error(`the zero Twist could not be sent to ${topic}: ${ownError.message}`));
    this.#lastTick = {
      aborted: hooks.map(({ outcome }) => outcome.aborted).find((a) => a) ?? null,
      held: [...new Set(hooks.flatMap(({ outcome }) => outcome.held ?? []))],
      notHeld: Object.assign({}, ...hooks.map(({ outcome }) => outcome.notHeld ?? {})) as Record<string, string>,
      ...(zeroError ? { zeroError: zeroError.message } : {}),
    };
    for (const [t, error] of failed)
      if (t !== topic)
        this.#log.error({ topic: t, err: error.message }, `robot stop: the zero command could not be sent to ${t}`);
    const tick = this.#lastTick;
    // Latched in the same tick, before any await: the next motion, from anywhere, is refused.
    const engaged = this.latch.enabled ? this.latch.engage(order) : undefined;
    // Taken: the latch holds the line from here (motion.stop.latch), or the hooks ended what the line held.
    this.latch.line.taken();

    // The event does not wait for the latch file: both are written at once, each on its own, so the reply
    // waits for the slower of two writes instead of one after the other.
    const journaled = this.#reports(hooks).then(async (reports) => {
      const offLoopReport = offLoop && (await this.#offLoopReport(offLoop));
      const payload: HaltEventPayload = {
        by,
        reason: reason ?? null,
        pose: this.#poseNow(),
        aborted: hooks.map(({ outcome }) => outcome.aborted).find((a) => a) ?? null,
        cancelled: [...new Set(reports.flatMap((r) => r.cancelled ?? []))],
        goals: [...new Set(reports.flatMap((r) => r.goals ?? []))],
        zeroed: [...new Set([...zeroedByHooks, ...zeroed])],
        held: tick.held,
        not_held: tick.notHeld,
        latched: engaged ? { by: engaged.state.by, reason: engaged.state.reason, since: engaged.state.since } : null,
        not_stopped: zeroError ? zeroError.message : null,
        ...(offLoopReport ? { off_loop: offLoopReport } : {}),
      };
      return { reports, payload, eventError: await this.#journalEvent(stopId, HALT_EVENT_KINDS.engaged, payload) };
    });
    const [{ reports, payload, eventError }, latched] = await Promise.all([
      journaled,
      engaged ? latchReport(engaged, this.latch.path, this.#waitMs) : null,
    ]);
    const problems = [...new Set(reports.flatMap((r) => r.problems ?? []))];
    const { aborted, cancelled, goals } = payload;
    const outcome: RobotHaltOutcome = {
      topic,
      aborted,
      cancelled,
      journal_error: problems.length > 0 ? problems.join('; ') : null,
      latched,
      zeroed: payload.zeroed.filter((t) => t !== topic),
      ...(goals.length > 0 ? { goals } : {}),
      ...(payload.held.length > 0 ? { held: payload.held } : {}),
      ...(Object.keys(payload.not_held).length > 0 ? { not_held: payload.not_held } : {}),
    };
    if (eventError) outcome.journal_error = [outcome.journal_error, eventError].filter(Boolean).join('; ');
    const fields = {
      by,
      reason: reason ?? null,
      ...outcome,
      ...(zeroError ? { zero_twist_error: zeroError.message } : {}),
    };
    if (!zeroError) {
      this.#log.warn(fields, 'robot stopped');
      return outcome;
    }
    // A stop that did not stop the robot is an error: a person must stop it another way.
    this.#log.error(fields, 'robot stop: the zero Twist could not be sent; the robot was NOT stopped');
    throw new RobotNotHaltedError(
      this.#notHalted(
        zeroError,
        outcome,
        hooks.some(({ name }) => name === 'agent'),
      ),
    );
  }

  haltNow(by: string, reason?: string): { tick: HaltTick; done: Promise<RobotHaltOutcome> } {
    const done = this.halt(by, reason);
    return { tick: this.#lastTick, done };
  }

  /**
   * A person releases the latched stop: the robot may move again; nothing that was stopped restarts. With
   * `since` (the latch the releaser was shown), a newer latch is not released (HaltLatchConflict).
   */
  async release(by: string, since?: string): Promise<HaltReleaseOutcome> {
    this.latch.load(); // a latch file from before that nothing in this process read yet
    const was = await this.latch.release(since);
    if (was) {
      this.#releases++;
      this.#log.warn({ by, stop_latch: was }, `robot stop latch released by ${by}: the robot may move again`);
      const error = await this.#journalEvent(newId(), HALT_EVENT_KINDS.released, {
        by,
        latch: was,
        pose: this.#poseNow(),
      });
      if (error) this.#log.warn({ by, err: error }, 'robot stop release: not journaled');
    }
    return { released: was !== undefined, latch: was ?? null };
  }

  /** What a listener's stop's own zero commands did, as its event says it: within the reply's wait. */
  async #offLoopReport(offLoop: OffLoopHalt): Promise<HaltEventPayload['off_loop']> {
    const zeroes = await within(
      offLoop.zeroes.catch(() => undefined),
      this.#waitMs,
    );
    return {
      at: offLoop.at,
      zeroed: zeroes?.zeroed ?? [],
      failed: zeroes?.failed ?? { listener: `no answer from its zero commands within ${this.#waitMs} ms` },
    };
  }

  /** Why a stop that sent no zero to the velocity topic failed, with what it did all the same. */
  #notHalted(zeroError: Error, outcome: RobotHaltOutcome, runs: boolean): string {
    const { cancelled, journal_error: journalError } = outcome;
    const parts = [zeroError.message];
    if (runs)
      parts.push(
        cancelled.length === 0
          ? 'no run was active'
          : `${plural(cancelled.length, 'run')} cancelled (${cancelled.join(', ')})`,
      );
    else if (outcome.latched) parts.push('the stop is latched all the same');
    if (journalError) parts.push(journalError);
    return `${parts.join('; ')}. Stop the robot another way (its hardware e-stop)`;
  }

  #runHook(name: string, hook: HaltHook, order: HaltOrder): HaltHookOutcome {
    try {
      return hook(order) ?? {};
    } catch (error) {
      // One hook's fault must not keep the zero commands or the latch from the others.
      this.#log.error({ hook: name, err: errorText(error) }, `robot stop: the ${name} stop hook threw`);
      return { settled: Promise.resolve({ problems: [`${name}: ${errorText(error)}`] }) };
    }
  }

  /**
   * The hooks' reports. Each bounds its own wait (the agent's is the reply's); one that has not answered
   * within ten of them is named, so a hook that never ends cannot keep the operator from the reply.
   */
  async #reports(hooks: { name: string; outcome: HaltHookOutcome }[]): Promise<HaltHookReport[]> {
    const late: HaltHookReport = {};
    return Promise.all(
      hooks.map(async ({ name, outcome }) => {
        if (!outcome.settled) return late;
        const report = await within(
          outcome.settled.catch((error: Error) => ({ problems: [`${name}: ${error.message}`] })),
          this.#waitMs * 10,
          'late' as const,
        );
        return report === 'late' ? { problems: [`${name} had not ended what it drives when the reply went`] } : report;
      }),
    );
  }

  /**
   * One zero command to every velocity topic the limits govern that no hook zeroed: the velocity topic itself
   * (a TwistStamped where the bus carries one there, else a Twist), and every other governed topic that
   * carries a Twist or a TwistStamped, whoever publishes there.
   */
  #zeroGoverned(done: ReadonlySet<string>): { zeroed: string[]; failed: Map<string, Error> } {
    const limits = this.#config.motion.velocity;
    const governed = governedTopics(limits);
    const stampNs = nowNs();
    const targets = new Map<string, string>();
    if (!done.has(limits.topic))
      targets.set(limits.topic, this.#bus.topicType(limits.topic) === TWIST_STAMPED ? TWIST_STAMPED : TWIST);
    for (const { topic, type } of this.#bus.stats())
      if (!done.has(topic) && topic !== limits.topic && VELOCITY_TYPES.has(type) && governed(topic))
        targets.set(topic, type);
    const zeroed: string[] = [];
    const failed = new Map<string, Error>();
    for (const [topic, type] of targets) {
      try {
        sendZeroVelocity(this.#bus, this.#codec, { topic, type, source: 'stop', stampNs });
        zeroed.push(topic);
      } catch (error) {
        failed.set(topic, error as Error);
      }
    }
    return { zeroed, failed };
  }

  /** Appends the stop's event; resolves with why it is not journaled (within the wait), or undefined. */
  async #journalEvent(id: string, kind: string, payload: Record<string, unknown>): Promise<string | undefined> {
    const journal = this.#journal();
    if (!journal) return 'the stop is not journaled: the journal is not open';
    const appended = journal.append(...haltEvent(id, kind, payload)).then(
      () => undefined,
      (error: Error) => `the stop's event could not be journaled: ${error.message}`,
    );
    return within(
      appended,
      this.#waitMs,
      `the stop's event is still being journaled after ${this.#waitMs} ms (the journal's disk is slow or stuck)`,
    );
  }

  /** Keeps the last odometry message (undecoded, not a subscriber) for where the robot was when stopped. */
  #watchPose(): void {
    this.#lastOdom = this.#bus.retainLatest(this.#config.agent.navigation.odom_topic);
  }

  #poseNow(): { x: number; y: number; frame_id: string } | null {
    const odom = this.#lastOdom();
    if (!odom) return null;
    try {
      const m = this.#codec.decode<{
        header?: { frame_id?: string };
        pose?: { pose?: { position?: { x?: number; y?: number } } };
      }>(odom.type, odom.data);
      const p = m.pose?.pose?.position;
      if (typeof p?.x !== 'number' || typeof p.y !== 'number') return null;
      return { x: p.x, y: p.y, frame_id: m.header?.frame_id ?? '' };
    } catch {
      return null; // a message that does not decode says nothing of where the robot was
    }
  }
}

function plural(n: number, noun: string): string {
  return `${n} ${noun}${n === 1 ? '' : 's'}`;
}
