import type { Logger } from 'auraison-edge/log';
import { RESEND_SCHEMA } from 'auraison-edge/protocol';
import type { Ranges } from './events-payload.ts';
import { errorText } from 'auraison-edge/util';

export { RESEND_SCHEMA };

/** The most seqs one resend asks for (the robot answers at most this many records a request). */
export const MAX_RESEND_SEQS = 10_000;

export interface ResendMessage {
  schema: typeof RESEND_SCHEMA;
  journal_id: string;
  from_seq: number;
  to_seq: number;
  reason: string;
  ts: string;
}

/**
 * The first run of seqs in 1..ackedSeq that `ranges` (a journal's cursor: sorted, disjoint, inclusive) does not
 * cover, at most `max` long; undefined when all are covered. A journal central never saw starts at 1: the robot
 * answers `lost` for the seqs its journal no longer holds, which then cover them.
 */
export function firstGap(ranges: Ranges, ackedSeq: number, max = MAX_RESEND_SEQS): [number, number] | undefined {
  let next = 1;
  for (const [a, b] of ranges) {
    if (next > ackedSeq) return undefined;
    if (a > next) return [next, Math.min(a - 1, ackedSeq, next + max - 1)];
    next = Math.max(next, b + 1);
  }
  return next <= ackedSeq ? [next, Math.min(ackedSeq, next + max - 1)] : undefined;
}

/**
 * The range one resend asks for: from the first seq `firstGap` finds to the last seq up to acked_seq the
 * cursor lacks within `max` seqs of it, so that one request covers many small holes (a killed process that
 * took every other batch of a robot leaves one hole a batch); what it covers that central has is dropped.
 */
export function resendSpan(ranges: Ranges, ackedSeq: number, max = MAX_RESEND_SEQS): [number, number] | undefined {
  const first = firstGap(ranges, ackedSeq, max);
  if (!first) return undefined;
  // The last seq not covered at or below the limit, walking the ranges down from it.
  let last = Math.min(ackedSeq, first[0] + max - 1);
  for (let i = ranges.length - 1; i >= 0; i--) {
    const [from, to] = ranges[i]!;
    if (from > last) continue;
    if (to < last) break;
    last = from - 1;
  }
  return [first[0], last];
}

/** What a heartbeat's `outbox` says, and when it came. */
interface Sample {
  at: number;
  journal_id: string;
  acked_seq: number;
}

export interface ResendCounts {
  /** Resend requests published. */
  resends_asked: number;
  /** Seqs those requests asked for. */
  seqs_asked: number;
  /** Checks skipped because this process's commits fail or its queue is backed up. */
  skipped_busy: number;
}

export interface RobotResends {
  resends_asked: number;
  seqs_asked: number;
  /** The last range asked for, `journal_id:from..to`. */
  last_asked?: string;
}

export interface GapRecoveryOptions {
  /** How old a heartbeat must be before its acked_seq is trusted, and how long before a range is asked again. */
  afterMs: number;
  /** Robot journals' cursors from the lake, keyed `robot\u0000journal_id` (missing: central never saw it). */
  readCursors: (journals: { robot: string; journal_id: string }[]) => Promise<Map<string, Ranges>>;
  publish: (robot: string, message: ResendMessage) => Promise<void>;
  /** True while this process's commits fail or its queue is backed up. */
  busy: () => boolean;
  log: Logger;
  now?: () => number;
}

/**
 * Gap recovery: a message the broker PUBACKed to the robot can still be lost on the way to central (a serve
 * process killed with messages in flight: mosquitto drops them with its session, eclipse/mosquitto#2662). Every
 * robot's heartbeat says `outbox: {journal_id, acked_seq}`: every seq <= acked_seq of that journal reached the
 * broker. A heartbeat at least `afterMs` old is trusted (batches still in flight by then have landed), its
 * journal's cursor read from the lake, and the first seqs not covered (a hole, a missing tail up to acked_seq,
 * a head from 1) asked again on the robot's resend topic, at most MAX_RESEND_SEQS at a time; a range is not
 * asked again within `afterMs`. Nothing is asked while this process's commits fail or its queue is backed up
 * (the cursor is behind then). Every serve process asks: the robot's duplicates are deduped by the ingest.
 */
export class GapRecovery {
  readonly #o: GapRecoveryOptions;
  readonly #samples = new Map<string, Sample[]>();
  readonly #asked = new Map<string, { key: string; at: number }>();
  /** Per robot, the `journal:acked_seq` last found covered: the cursor only grows, so no need to read it again. */
  readonly #covered = new Map<string, string>();
  readonly #perRobot = new Map<string, RobotResends>();
  readonly counts: ResendCounts = { resends_asked: 0, seqs_asked: 0, skipped_busy: 0 };
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(o: GapRecoveryOptions) {
    this.#o = o;
  }

  #now(): number {
    return this.#o.now?.() ?? Date.now();
  }

  /** A heartbeat's message; its `outbox` is kept when it names a journal and an acked seq. */
  heartbeat(robot: string, message: Record<string, unknown>): void {
    const outbox = message.outbox as Record<string, unknown> | undefined;
    if (outbox === null || typeof outbox !== 'object') return;
    const { journal_id, acked_seq } = outbox;
    if (typeof journal_id !== 'string' || journal_id === '' || journal_id.length > 256) return;
    if (!Number.isSafeInteger(acked_seq) || (acked_seq as number) < 0) return;
    const samples = this.#samples.get(robot) ?? [];
    samples.push({ at: this.#now(), journal_id, acked_seq: acked_seq as number });
    // Keep the newest one old enough to trust, and those after it.
    const ripe = this.#now() - this.#o.afterMs;
    while (samples.length > 1 && samples[1]!.at <= ripe) samples.shift();
    if (samples.length > 1000) samples.splice(0, samples.length - 1000);
    this.#samples.set(robot, samples);
  }

  /** The robots' resend counts (for the fleet view). */
  robot(robot: string): RobotResends | undefined {
    const r = this.#perRobot.get(robot);
    return r && { ...r };
  }

  /** Checks every robot now; resolves once the requests went. */
  async check(): Promise<void> {
    if (this.#o.busy()) {
      this.counts.skipped_busy++;
      return;
    }
    const ripe = this.#now() - this.#o.afterMs;
    const due: { robot: string; sample: Sample }[] = [];
    for (const [robot, samples] of this.#samples) {
      while (samples.length > 1 && samples[1]!.at <= ripe) samples.shift();
      const sample = samples[0];
      if (!sample || sample.at > ripe || sample.acked_seq === 0) continue;
      if (this.#covered.get(robot) === `${sample.journal_id}:${sample.acked_seq}`) continue;
      due.push({ robot, sample });
    }
    if (due.length === 0) return;
    let cursors: Map<string, Ranges>;
    try {
      cursors = await this.#o.readCursors(due.map(({ robot, sample }) => ({ robot, journal_id: sample.journal_id })));
    } catch (error) {
      this.#o.log.warn(
        { err: errorText(error).split('\n')[0] },
        'central serve: reading the event cursors for gap recovery failed; tried again later',
      );
      return;
    }
    for (const { robot, sample } of due) {
      if (this.#closed) return;
      const gap = resendSpan(cursors.get(`${robot}\u0000${sample.journal_id}`) ?? [], sample.acked_seq);
      if (!gap) {
        this.#covered.set(robot, `${sample.journal_id}:${sample.acked_seq}`);
        continue;
      }
      const key = `${sample.journal_id}:${gap[0]}..${gap[1]}`;
      const last = this.#asked.get(robot);
      if (last && last.key === key && this.#now() - last.at < this.#o.afterMs) continue;
      const message: ResendMessage = {
        schema: RESEND_SCHEMA,
        journal_id: sample.journal_id,
        from_seq: gap[0],
        to_seq: gap[1],
        reason: `central misses seqs ${gap[0]}..${gap[1]} of ${sample.journal_id} (the robot's heartbeat says acked_seq ${sample.acked_seq})`,
        ts: (BigInt(this.#now()) * 1_000_000n).toString(),
      };
      try {
        await this.#o.publish(robot, message);
      } catch (error) {
        this.#o.log.warn({ robot, err: errorText(error) }, 'central serve: publishing a resend failed');
        continue;
      }
      this.#asked.set(robot, { key, at: this.#now() });
      const seqs = gap[1] - gap[0] + 1;
      this.counts.resends_asked++;
      this.counts.seqs_asked += seqs;
      const r = this.#perRobot.get(robot) ?? { resends_asked: 0, seqs_asked: 0 };
      r.resends_asked++;
      r.seqs_asked += seqs;
      r.last_asked = key;
      this.#perRobot.set(robot, r);
      this.#o.log.info(
        { robot, journal_id: sample.journal_id, from_seq: gap[0], to_seq: gap[1] },
        'central serve: events are missing; the robot is asked to send them again',
      );
    }
  }

  /** Checks every `everyMs` until stop. */
  start(everyMs: number): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.check()
        .catch((error: unknown) => this.#o.log.warn({ err: errorText(error) }, 'central serve: gap recovery failed'))
        .finally(() => (this.#running = undefined));
    }, everyMs);
    this.#timer.unref();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running;
  }
}
