import type { Logger } from 'pino';
import { compileExtractor, jointReader, type FieldExtractor } from '../field-extractor.ts';
import type { Bus, BusMessage, DefinitionsRegistry, Subscription } from '../../bus/index.ts';
import { MessageCodec } from '../../bus/index.ts';
import { LogBurst, nowNs, withSuppressed } from '../../util/index.ts';
import type { DecodePool } from '../vision/decode-pool.ts';
import { subscribeEpisodeMarks } from './episode-marks.ts';
import { FrameFeed, type FrameSink } from './frame-feed.ts';
import { monotonicMs } from './loop-clock.ts';
import type { LoopPlan } from './loop-plan.ts';
import type { ObservationBoard } from './observation-board.ts';
import { ObservationWatch, type ObservationSummary } from './observation-watch.ts';

export interface ObservationIntakeOptions {
  /** The loop's name, in logs and as the subscriber's name (`control:<name>`). */
  name: string;
  policyName: string;
  plan: LoopPlan;
  board: ObservationBoard;
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
  logIntervalMs: number;
  /** Why a message is no observation though its topic is one (the robot's state from a client door); none: all are. */
  distrust?: (msg: BusMessage) => string | undefined;
  /** The daemon's decode processes, which the cameras' frames share (FrameFeed). */
  decodePool?: DecodePool;
  /** control.loops.<name>.episodes: the marks' topic, and what a begin does (the loop drops its plan). */
  episodes?: { topic: string; onBegin: () => void };
}

/**
 * The main thread's side of a loop's observations: bus messages decoded (only the fields the policy reads)
 * onto the shared board, camera frames onto their buffers. A message that does not fit is counted and
 * logged once a window, never half-written. The frame buffers exist from construction, so the loop thread
 * can be handed them before anything is subscribed.
 */
export class ObservationIntake {
  readonly #name: string;
  readonly #policyName: string;
  readonly #plan: LoopPlan;
  readonly #board: ObservationBoard;
  readonly #bus: Bus;
  readonly #definitions: DefinitionsRegistry;
  readonly #log: Logger;
  readonly #frames: FrameFeed;
  readonly #watch: ObservationWatch;
  readonly #distrust: ((msg: BusMessage) => string | undefined) | undefined;
  readonly #episodes: ObservationIntakeOptions['episodes'];
  /** Per topic: a publisher whose messages never fit (a missing field) would log one line per message. */
  readonly #skipped: LogBurst;
  #subs: Subscription[] = [];
  #errors = 0;
  #measuredTaken = 0;

  constructor(options: ObservationIntakeOptions) {
    const { name, policyName, plan, board, bus, definitions, log, logIntervalMs, distrust, decodePool } = options;
    this.#distrust = distrust;
    this.#episodes = options.episodes;
    this.#name = name;
    this.#policyName = policyName;
    this.#plan = plan;
    this.#board = board;
    this.#bus = bus;
    this.#definitions = definitions;
    this.#log = log;
    this.#skipped = new LogBurst({ intervalMs: logIntervalMs });
    const watch = (this.#watch = new ObservationWatch(plan));
    this.#frames = new FrameFeed({
      name,
      images: plan.images,
      bus,
      decodePool,
      definitions,
      onError: (topic, error) => this.#observationSkipped(topic, error),
      onArrived: (topic) => watch.arrived(topic),
      onTaken: (topic, timeMs) => watch.taken(topic, timeMs),
    });
  }

  /** The camera frames' shared buffers, for the loop thread. */
  get frameBuffers(): SharedArrayBuffer[] {
    return this.#frames.buffers;
  }

  /** Messages that could not be turned into observations (wrong shape, missing field). */
  get errors(): number {
    return this.#errors;
  }

  /** Why the loop is blind now (which input and topic, and why), or undefined while every topic is fresh. */
  blind(): string | undefined {
    return this.#watch.blind(monotonicMs());
  }

  /** Messages of a joint position command's measured joints written to the board (what a hold reads). */
  get measuredTaken(): number {
    return this.#measuredTaken;
  }

  /** Each topic's messages, refusals and newest observation's age, for status. */
  observations(): ObservationSummary[] {
    return this.#watch.summary(monotonicMs());
  }

  /** Camera frames whose decode ran past its budget (counted in `errors` too). */
  get decodesAbandoned(): number {
    return this.#frames.decodeStats.abandoned;
  }

  /** Subscribes to the plan's topics; the cameras' frames go to `frameSinks` (a loop process's files) if given. */
  subscribe(frameSinks?: FrameSink[]): void {
    const name = this.#name;
    const board = this.#board;
    const codec = new MessageCodec(this.#definitions);
    const watch = this.#watch;
    watch.started(monotonicMs());
    this.#frames.subscribe(frameSinks);
    const episodes = this.#episodes;
    if (episodes)
      this.#subs.push(
        subscribeEpisodeMarks({
          bus: this.#bus,
          definitions: this.#definitions,
          name: `control:${name}`,
          topic: episodes.topic,
          onBegin: episodes.onBegin,
          onRefused: (error) => this.#skip(episodes.topic, error, 'episode mark skipped'),
        }),
      );
    const byTopic = new Map<string, { slot: number; extract: FieldExtractor; scratch: Float32Array }[]>();
    for (const slot of this.#plan.slots) {
      const list = byTopic.get(slot.topic) ?? [];
      list.push({
        slot: slot.slot,
        extract: compileExtractor(
          slot.source.settings,
          slot.length,
          `policies.${this.#policyName} ${slot.input}[${slot.offset}..]`,
        ),
        scratch: new Float32Array(slot.length),
      });
      byTopic.set(slot.topic, list);
    }
    // A joint position command's joints: their measured positions, by name, on a slot after the policy's.
    const arm = this.#plan.arm;
    if (arm) {
      const list = byTopic.get(arm.topic) ?? [];
      list.push({
        slot: arm.slot,
        extract: jointReader(arm.joints, 'position', `control.loops.${name}: the measured joints on ${arm.topic}`),
        scratch: new Float32Array(arm.joints.length),
      });
      byTopic.set(arm.topic, list);
    }
    for (const [topic, slots] of byTopic) {
      this.#subs.push(
        this.#bus.subscribe({
          name: `control:${name}`,
          topic,
          // A loop wants the latest observation only: an older one is worthless once a newer exists.
          queue: { policy: 'keep-latest' },
          handler: (msg: BusMessage) => {
            const distrusted = this.#distrust?.(msg);
            if (distrusted !== undefined) return this.#observationSkipped(topic, new Error(distrusted));
            watch.arrived(topic);
            try {
              const decoded = codec.decode(msg.type, msg.data);
              // The board is stamped on the monotonic clock the worker reads: the message's age by the
              // wall clock that stamped it, taken now; a logTime from the future counts as age 0.
              const timeMs = monotonicMs() - Math.max(0, Number(nowNs() - msg.logTime) / 1e6);
              // Every slice first, then the board: a message that does not fit one slice is skipped whole,
              // never half of it beside the previous message's other half.
              for (const s of slots) s.extract(decoded, s.scratch, 0);
              for (const s of slots) board.write(s.slot, s.scratch, timeMs);
              watch.taken(topic, timeMs);
              if (topic === arm?.topic) this.#measuredTaken++;
            } catch (error) {
              this.#observationSkipped(topic, error as Error);
            }
          },
        }),
      );
    }
  }

  /** Leaves the bus: the observation topics and the camera frames. */
  close(): void {
    for (const sub of this.#subs) this.#bus.unsubscribe(sub);
    this.#subs = [];
    this.#frames.close();
  }

  /** A message that does not fit the policy (or a frame that does not decode): counted, logged once a window. */
  #observationSkipped(topic: string, error: Error): void {
    this.#watch.refused(topic, error.message, monotonicMs());
    this.#skip(topic, error, 'observation skipped');
  }

  /** A message skipped on `topic` (an observation, or a mark that is no String): counted, logged once a window. */
  #skip(topic: string, error: Error, what: string): void {
    this.#errors++;
    const held = this.#skipped.take(topic);
    if (held !== undefined)
      this.#log.warn(withSuppressed({ loop: this.#name, topic, count: this.#errors, err: error.message }, held), what);
  }
}
