import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import { MessageCodec } from '../bus/index.ts';
import { errorText, nsToRosTime, sleep } from '../util/index.ts';
import { canonicalType, type DefinitionsRegistry } from '../bus/index.ts';
import type { Publisher } from '../bus/index.ts';
import { actuation, mayActuate } from '../motion/index.ts';
import { BagError } from './errors.ts';
import { McapFileReader } from './mcap-file-reader.ts';
import { locateBag, openBagFile, prepareStorage, type LocatedBag } from './open-bag.ts';
import { parseOfferedQos } from './qos.ts';
import type { StorageMessage, StorageTopic } from './storage-reader.ts';

/** The reason of a topic left out by the selection (--topics, --exclude). */
export const NOT_SELECTED = 'not selected (--topics, --exclude)';

export interface PlayOptions {
  /** A rosbag2 directory, or a bare .mcap or .db3 file. */
  path: string;
  /** Bag seconds per wall second (ros2 bag play --rate). */
  rate: number;
  /** Play the bag again from its start when it ends, until stopped. */
  loop: boolean;
  /** Which topics to play (after --topics/--exclude globs). */
  select: (topic: string) => boolean;
  /** Skip this much of the bag's start, ns (ros2 bag play --start-offset). */
  startOffsetNs: bigint;
  /** Topic renames, bag name to bus name (ros2 bag play --remap). */
  remap: ReadonlyMap<string, string>;
  /** Publish the playback time on /clock at this rate, Hz (ros2 bag play --clock); 0 or absent: not. */
  clockHz?: number;
}

/** Where --clock publishes, and what (rosgraph_msgs/msg/Clock, as ROS's time source). */
export const CLOCK_TOPIC = '/clock';
const CLOCK_TYPE = 'rosgraph_msgs/msg/Clock';

export interface PlayStats {
  /** Messages published per bus topic. */
  messages: Record<string, number>;
  /** Topics of the bag not played: not selected, or whose name the bus holds with another type. */
  skipped: { topic: string; reason: string }[];
  /** Times the bag was played through (a stop in the middle counts the pass it stopped in). */
  passes: number;
  /** Bag time played, s (over every pass). */
  bag_s: number;
  wall_s: number;
  /** How late messages went out against their schedule, ms: p50, p99, max. */
  late_ms: { p50: number; p99: number; max: number };
  stopped: boolean;
  /** The bag holds no message at all (nothing was published while it was recorded). */
  empty: boolean;
  /** With --clock: its rate and how many Clock messages went out; else null. */
  clock: { hz: number; published: number } | null;
  /** Messages that actuate, not published because the operator's stop was latched when they were due, per bus topic. */
  held: Record<string, number>;
  /** Why the last of them was held: the latch's refusal, naming what it would have done; null when none was. */
  held_reason: string | null;
}

/** What the player asks of the operator's stop: why nothing may move the robot now, or undefined. */
export interface PlayLatch {
  refusal(): string | undefined;
}

/**
 * Publishes a recorded bag on the bus as `ros2 bag play` publishes it on ROS: each selected topic is
 * advertised with the type and QoS it was recorded with (a latched /map stays latched), and each message
 * goes out at its recorded log time relative to the bag's start, scaled by `rate`, as CDR bytes exactly as
 * recorded. Messages are played in the order of the storage files (rosbag2 writes them in receive order);
 * one stamped earlier than the one before goes out at once. The bus stamps each message with the time it is
 * published, as ROS stamps a replayed message with the time it is sent.
 *
 * A type the daemon has no definition for is learnt from the bag's own schema (MCAP `ros2msg`), so the
 * messages decode where they are read (Foxglove, read_topic); without one they still pass as bytes.
 *
 * A bag is a door like any other: while the operator's stop is latched (`latch`), a message that actuates
 * (`actuation`: a joint trajectory, a Twist that moves, a forward controller's array, ...) is not published when
 * it is due, nor one of such a type that does not decode; it is counted in `held`. The rest plays on.
 */
export class BagPlayer {
  #bus: Bus;
  #registry: DefinitionsRegistry;
  #codec: MessageCodec;
  #latch: PlayLatch | undefined;
  #log: Logger;
  readonly #startOffsetNs: bigint;
  readonly #loop: boolean;
  readonly #clockHz: number | undefined;
  readonly #rate: number;
  readonly #remap: ReadonlyMap<string, string>;
  readonly #select: (topic: string) => boolean;
  #bag: LocatedBag;
  #publishers = new Map<string, Publisher | null>();
  /** The publishers whose type may actuate (mayActuate), with that type: each message of theirs is looked at. */
  #mayActuate = new Map<Publisher, string>();
  #started: number | undefined;
  #signal: AbortSignal | undefined;
  #stats = {
    messages: {} as Record<string, number>,
    skipped: new Map<string, string>(),
    passes: 0,
    bagNs: 0n,
    empty: true,
    held: {} as Record<string, number>,
    heldReason: null as string | null,
  };
  #late = new LatenessHistogram();
  /** The pass's time base, once its first message is scheduled: bag time `first` plays at wall time `wallStart`. */
  #timeline: { first: bigint; wallStart: number } | undefined;
  #clockPublished = 0;

  constructor(
    deps: { bus: Bus; definitions: DefinitionsRegistry; log: Logger; latch?: PlayLatch },
    options: PlayOptions,
  ) {
    this.#bus = deps.bus;
    this.#registry = deps.definitions;
    this.#codec = new MessageCodec(deps.definitions);
    this.#latch = deps.latch;
    this.#log = deps.log;
    const { startOffsetNs, loop, clockHz, rate, remap, select } = options;
    this.#startOffsetNs = startOffsetNs;
    this.#loop = loop;
    this.#clockHz = clockHz;
    this.#rate = rate;
    this.#remap = remap;
    this.#select = select;
    this.#bag = locateBag(options.path);
  }

  get bag(): LocatedBag {
    return this.#bag;
  }

  /**
   * Plays until the bag ends (or, with `loop`, until `signal` aborts). Throws BagError naming the file when
   * a storage file can't be read; what was published before stays published.
   */
  async play(signal: AbortSignal): Promise<PlayStats> {
    await prepareStorage(this.#bag.storage);
    this.#started = performance.now();
    this.#signal = signal;
    const stopClock = this.#startClock();
    try {
      do {
        this.#stats.passes++;
        const played = await this.#pass(signal);
        // A bag with no message at all (rosbag2 leaves one when nothing was published) plays as ros2 bag
        // play plays it: nothing, and done.
        if (!played && this.#stats.empty) break;
        // A stop before a pass published anything (Ctrl-C while reading through a start where nothing
        // selected speaks) is a stop, not a selection that matches nothing.
        if (!played && !signal.aborted)
          throw new BagError(
            this.#bag.path,
            `nothing to play: no message${this.#startOffsetNs > 0n ? ' after the start offset' : ''} on a selected topic`,
          );
      } while (this.#loop && !signal.aborted);
    } finally {
      stopClock();
      for (const p of this.#publishers.values()) p?.close();
      this.#publishers.clear();
    }
    return this.played();
  }

  /** What play has published so far: all of it once play returns, or up to where it failed (a file cut part way). */
  played(): PlayStats {
    const aborted = this.#signal?.aborted ?? false;
    return {
      messages: this.#stats.messages,
      skipped: [...this.#stats.skipped].map(([topic, reason]) => ({ topic, reason })),
      passes: this.#stats.passes,
      bag_s: round(Number(this.#stats.bagNs) / 1e9),
      wall_s: round((performance.now() - (this.#started ?? performance.now())) / 1000),
      late_ms: { p50: this.#late.percentile(50), p99: this.#late.percentile(99), max: round(this.#late.max) },
      stopped: aborted,
      empty: this.#stats.empty && !aborted,
      clock: this.#clockHz ? { hz: this.#clockHz, published: this.#clockPublished } : null,
      held: this.#stats.held,
      held_reason: this.#stats.heldReason,
    };
  }

  /**
   * --clock: the playback time on /clock every 1/clockHz s of wall time, as ros2 bag play --clock does, so
   * nodes with use_sim_time follow the bag: bag time advances at `rate` from each pass's first message, and
   * goes back to the bag's start when --loop starts a pass again (a time jump back, as on ROS). Nothing is
   * published before the first message is scheduled. Returns what stops it.
   */
  #startClock(): () => void {
    const hz = this.#clockHz;
    if (!hz) return () => {};
    const publisher = this.#bus.advertise(CLOCK_TOPIC, CLOCK_TYPE, { source: 'bag-play' });
    const codec = this.#codec;
    const timer = setInterval(() => {
      const at = this.#timeline;
      if (!at) return;
      const ns = at.first + BigInt(Math.max(0, Math.round((performance.now() - at.wallStart) * 1e6 * this.#rate)));
      publisher.publish(codec.encode(CLOCK_TYPE, { clock: nsToRosTime(ns) }));
      this.#clockPublished++;
    }, 1000 / hz);
    return () => {
      clearInterval(timer);
      publisher.close();
    };
  }

  /** One pass through the bag; returns whether anything was published. */
  async #pass(signal: AbortSignal): Promise<boolean> {
    const rate = this.#rate;
    const offset = this.#startOffsetNs;
    /** Bag time that plays at wallStart: the bag's first message plus the start offset. */
    let first: bigint | undefined;
    let last: bigint | undefined;
    let playedFrom: bigint | undefined;
    let wallStart = 0;
    let published = false;
    /** Ends the pass (one a stop cut short too): its bag time goes to the stats. */
    const end = (): boolean => {
      if (playedFrom !== undefined && last !== undefined && last > playedFrom) this.#stats.bagNs += last - playedFrom;
      return published;
    };
    for (const file of this.#bag.files) {
      const reader = await openBagFile(this.#bag, file);
      try {
        // rosbag2 reads an MCAP file in log-time order; file order is that, unless its chunks overlap in time.
        const batches =
          (reader instanceof McapFileReader ? await reader.logTimeOrdered() : undefined) ?? reader.batches();
        for await (const batch of batches) {
          for (const m of batch) {
            if (signal.aborted) return end();
            this.#stats.empty = false;
            first ??= m.logTime + offset;
            if (offset > 0n && m.logTime < first) continue;
            const publisher = this.#publisher(m, reader.topics());
            if (!publisher) continue;
            // The first message played goes out at once (no wait through a start where nothing selected was).
            if (!published) {
              playedFrom = m.logTime;
              wallStart = performance.now() - Number(m.logTime > first ? m.logTime - first : 0n) / 1e6 / rate;
              this.#timeline = { first, wallStart };
            }
            const due = wallStart + Number(m.logTime - first) / 1e6 / rate;
            let now = performance.now();
            // Never early: a timer may fire up to a millisecond before its time (libuv's cached loop time), and
            // a wait past a timer's limit (about 24.8 days) ends there; the loop sleeps again.
            while (now < due) {
              if (!(await sleep(due - now, { signal }))) return end();
              now = performance.now();
            }
            const name = publisher.topic;
            const held = this.#held(publisher, m.data);
            if (held === undefined) {
              publisher.publish(m.data);
              this.#late.add(Math.max(0, now - due));
              this.#stats.messages[name] = (this.#stats.messages[name] ?? 0) + 1;
            } else {
              this.#stats.held[name] = (this.#stats.held[name] ?? 0) + 1;
              this.#stats.heldReason = held;
            }
            if (last === undefined || m.logTime > last) last = m.logTime;
            published = true;
          }
        }
      } catch (error) {
        if (error instanceof BagError) throw error;
        throw new BagError(
          file,
          `${errorText(error)}; if a recorder was cut off while writing it, \`auraison-edge bag repair ${this.#bag.path}\` finishes it`,
        );
      } finally {
        await reader.close();
      }
    }
    return end();
  }

  /** The publisher of a message's topic (advertised at its first message), or null when it is not played. */
  #publisher(m: StorageMessage, topics: Map<string, StorageTopic>): Publisher | null {
    const known = this.#publishers.get(m.topic);
    if (known !== undefined) return known;
    const topic = topics.get(m.topic);
    // A relative name (`AAA`, as rosbag2_py scripts write them) is in the root namespace, as ros2 bag play's node
    // resolves it.
    const full = m.topic.startsWith('/') ? m.topic : `/${m.topic}`;
    const name = this.#remap.get(full) ?? full;
    let publisher: Publisher | null = null;
    if (!topic) this.#skip(m.topic, 'the file declares no type for it');
    else if (!this.#select(full)) this.#skip(m.topic, NOT_SELECTED);
    else if (this.#clockHz && name === CLOCK_TOPIC)
      this.#skip(m.topic, '--clock publishes /clock from the playback time instead');
    else if (topic.serializationFormat !== 'cdr')
      this.#skip(m.topic, `serialization format ${topic.serializationFormat}, not cdr`);
    else {
      this.#learnType(topic);
      const qos = parseOfferedQos(topic.offeredQosProfiles);
      try {
        publisher = this.#bus.advertise(name, topic.type, { source: 'bag-play', ...(qos ? { qos } : {}) });
        if (mayActuate(topic.type, name)) this.#mayActuate.set(publisher, topic.type);
      } catch (error) {
        this.#skip(m.topic, errorText(error));
      }
    }
    this.#publishers.set(m.topic, publisher);
    return publisher;
  }

  /**
   * Why a due message must not be published (the stop latched, and it actuates or cannot be read), or undefined.
   * Decoded only while latched, and only for a type that may actuate: the rest pass as bytes.
   */
  #held(publisher: Publisher, data: Uint8Array): string | undefined {
    const type = this.#mayActuate.get(publisher);
    if (type === undefined) return undefined;
    const refusal = this.#latch?.refusal();
    if (refusal === undefined) return undefined;
    let actuates: string | undefined;
    try {
      actuates = actuation(type, this.#codec.decode(type, data), publisher.topic);
    } catch (error) {
      actuates = `a ${type} that does not decode (${errorText(error)})`;
    }
    return actuates === undefined ? undefined : `${refusal} (${actuates}, on ${publisher.topic})`;
  }

  #skip(topic: string, reason: string): void {
    this.#stats.skipped.set(topic, reason);
    if (reason !== NOT_SELECTED) this.#log.warn({ topic, reason }, 'bag play: topic not played');
  }

  /** Adds the bag's definition of a type the registry lacks (and of the types it uses) from the MCAP schema. */
  #learnType(topic: StorageTopic): void {
    if (this.#registry.has(topic.type) || topic.schema?.encoding !== 'ros2msg') return;
    const [root = '', ...deps] = topic.schema.text.split(/^=+\s*$/m);
    try {
      for (const dep of deps) {
        const m = /^\s*MSG:\s*(\S+)\s*\n([\s\S]*)$/.exec(dep);
        if (m && !this.#registry.has(m[1]!))
          this.#registry.addMessageText(canonicalType(m[1]!), m[2]!, `bag ${this.#bag.path}`);
      }
      this.#registry.addMessageText(topic.type, root, `bag ${this.#bag.path}`);
    } catch (error) {
      this.#log.warn(
        { topic: topic.name, type: topic.type, err: errorText(error) },
        "bag play: the bag's definition of this type does not parse; its messages pass as bytes",
      );
    }
  }
}

/** Lateness in 0.1 ms buckets up to 100 ms (the rest in one), and the exact maximum: bounded however long it loops. */
class LatenessHistogram {
  #buckets = new Float64Array(1001);
  #count = 0;
  max = 0;

  add(ms: number): void {
    this.#buckets[Math.min(1000, Math.floor(ms * 10))]!++;
    this.#count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper bound of the bucket holding the p-th percentile, ms (the maximum for the last bucket). */
  percentile(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#count);
    let seen = 0;
    for (let i = 0; i < this.#buckets.length; i++) {
      seen += this.#buckets[i]!;
      if (seen >= rank) return i === 1000 ? round(this.max) : round(Math.min((i + 1) / 10, this.max));
    }
    return round(this.max);
  }
}

function round(n: number): number {
  return Math.round(n * 1000) / 1000;
}
