import { mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Static } from 'typebox';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { compileRecordSelection } from '../bus/index.ts';
import { typeDescriptionHash } from '../bus/index.ts';
import type { BusMessage } from '../bus/index.ts';
import type { RecorderConfig, SnapshotConfig } from '../config/index.ts';
import type { MetricFamily, MetricsProvider, SnapshotBag, SnapshotService, TakenSnapshot } from '../contract/index.ts';
import { counter, gauge, errorText } from '../util/index.ts';
import type { Component, ComponentHealth } from '../lifecycle/index.ts';
import { diskSpaceText } from '../util/index.ts';
import { loadCompressor, type Compressor } from './chunk-compression.ts';
import { QUIET_TOPIC_MS } from './recorder.ts';
import { isFullDisk } from './recording-state.ts';
import { fsSegmentIO, type SegmentIO } from './segment-io.ts';
import { SnapshotBuffer } from './snapshot-buffer.ts';
import { finishLeftoverSnapshots, writeSnapshotBag } from './snapshot-writer.ts';
import { TopicSubscriptions } from './topic-subscriptions.ts';

export type SnapshotSettings = Static<typeof SnapshotConfig>;
type Recorder = Static<typeof RecorderConfig>;

/**
 * The staging directories of the snapshot bags being written or finished by any Snapshotter of this process.
 * A reload whose stop gave up waiting on a long write (the supervisor's 5 s budget) starts a new Snapshotter
 * while the old one still writes: the new one's start must not take that bag for a killed daemon's leftover,
 * and retention (which asks the new one) must leave it alone.
 */
const STAGED_NOW = new Set<string>();

export interface SnapshotterOptions {
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
  /** `<data_dir>/bags`. */
  bagsDir: string;
  settings: SnapshotSettings;
  /** How bags are written and how the bus queues messages for it: the recorder's settings. */
  writing: Pick<Recorder, 'compression' | 'chunk_size_bytes' | 'chunk_crc' | 'queue'>;
  io?: SegmentIO;
  /** Called with each snapshot bag's split once the bag is in place (the lakehouse indexes it). */
  onBag?: (file: string, bagDir: string) => void;
}

/**
 * Snapshot recording, as `ros2 bag record --snapshot-mode` with its `~/snapshot` service: a "dashcam" that
 * keeps the last `max_duration_s` (at most `max_bytes`) of the selected topics in memory (SnapshotBuffer),
 * and writes them to a new bag when asked, for what went wrong (a collision, a safety stop, a failed run)
 * without recording everything all the time. It runs with or without the recorder, and fails alone.
 *
 * The bus handler only appends to memory. A snapshot is written in the background (a few MiB at a time,
 * the buffer filling meanwhile) and does not empty the buffer: each bag is the whole window before its
 * trigger (rosbag2 empties its buffer instead). A trigger while a snapshot is being written gets that
 * snapshot (`joined`): triggers at once are one incident seen twice. A snapshot that fails (disk full)
 * leaves nothing behind but the error, and the buffer as it was.
 */
export class Snapshotter implements Component, MetricsProvider, SnapshotService {
  readonly name = 'snapshot';
  readonly #bagsDir: string;
  readonly #log: Logger;
  readonly #bus: Bus;
  readonly #definitions: DefinitionsRegistry;
  readonly #settings: SnapshotSettings;
  /** How splits are written: the recorder's compression, chunk size and CRCs. */
  readonly #writeSettings: Pick<Recorder, 'compression' | 'chunk_size_bytes' | 'chunk_crc' | 'queue'>;
  readonly #onBag: ((file: string, bagDir: string) => void) | undefined;
  #io: SegmentIO;
  #select: (topic: string) => boolean;
  #buffer: SnapshotBuffer;
  #topics: TopicSubscriptions;
  #unlisten: (() => void) | undefined;
  #stopServing: (() => void) | undefined;
  #quietTimer: NodeJS.Timeout | undefined;
  #compressor: Compressor | undefined;
  #running = false;
  #closing = false;
  /** The snapshot being written now: a trigger meanwhile gets it. */
  #writing: Promise<SnapshotBag | undefined> | undefined;
  /** Finishing what a killed daemon left (started by start(), waited for by close()). */
  #leftovers: Promise<void> = Promise.resolve();
  /** Bag directories being written or finished: retention leaves them alone. */
  #busy = STAGED_NOW;
  #written = 0;
  #failed = 0;
  #lastBag: string | undefined;
  #lastError: string | undefined;
  #typeHashes = new Map<string, string | undefined>();
  /** Topics a message of which was too large to buffer (said once per topic). */
  #tooLargeTopics = new Set<string>();

  constructor(options: SnapshotterOptions) {
    const { bagsDir, log, bus, definitions, settings, writing, onBag } = options;
    this.#bagsDir = bagsDir;
    this.#log = log;
    this.#bus = bus;
    this.#definitions = definitions;
    this.#settings = settings;
    this.#writeSettings = writing;
    this.#onBag = onBag;
    this.#io = options.io ?? fsSegmentIO;
    this.#select = compileRecordSelection(settings.include, settings.exclude, settings.include_hidden);
    this.#buffer = new SnapshotBuffer({
      maxDurationNs: BigInt(Math.round(settings.max_duration_s * 1e9)),
      maxBytes: settings.max_bytes,
      latched: (topic) => bus.topicQos(topic)?.durability === 'transient_local',
    });
    this.#topics = new TopicSubscriptions({
      bus,
      name: 'snapshot',
      queue: { policy: writing.queue.policy, depth: writing.queue.depth },
      handler: this.#onMessage,
      now: () => performance.now(),
    });
  }

  async start(): Promise<void> {
    this.#closing = false;
    try {
      mkdirSync(this.#bagsDir, { recursive: true });
    } catch (error) {
      // The buffer works without it; a snapshot says what is wrong with the disk when asked for.
      this.#log.warn({ dir: this.#bagsDir, err: errorText(error) }, 'snapshot: could not make the bags directory');
    }
    try {
      this.#compressor = await loadCompressor(this.#writeSettings.compression);
      const json = (value: unknown) => ({
        encoding: 'application/json',
        payload: new TextEncoder().encode(JSON.stringify(value)),
      });
      this.#stopServing = this.#bus.serve('recorder/snapshot', async () =>
        json({ snapshot: (await this.snapshot()) ?? null }),
      );
    } catch (error) {
      // A start that failed leaves nothing running (the supervisor retries it): nothing is subscribed yet.
      await this.#compressor?.close?.();
      this.#compressor = undefined;
      throw error;
    }
    this.#unlisten = this.#bus.onTopic((topic) => {
      if (this.#select(topic)) this.#topics.subscribe(topic);
    });
    // Topics that come and go (per-run namespaces) must not keep a subscription each for good.
    this.#quietTimer = setInterval(() => {
      try {
        this.#topics.forgetQuiet(QUIET_TOPIC_MS, () => false);
      } catch (error) {
        // from a timer: never thrown
        this.#log.error({ err: errorText(error) }, 'snapshot: letting go of quiet topics failed');
      }
    }, QUIET_TOPIC_MS / 10);
    this.#quietTimer.unref();
    this.#running = true;
    this.#leftovers = finishLeftoverSnapshots({
      bagsDir: this.#bagsDir,
      io: this.#io,
      log: this.#log,
      busy: this.#busy,
      onBag: (file, bag) => this.#onBag?.(file, bag),
      stop: () => this.#closing,
    }).catch((error: unknown) => {
      this.#log.error(
        { err: errorText(error) },
        'snapshot: could not look for snapshot bags a daemon stopped while writing',
      );
    });
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.#running = false;
    this.#stopServing?.();
    this.#unlisten?.();
    clearInterval(this.#quietTimer);
    // A snapshot being written is finished: it is what someone asked to keep.
    await this.#writing?.catch(() => undefined);
    await this.#leftovers;
    this.#topics.closeAll();
    this.#buffer.clear();
    await this.#compressor?.close?.();
    this.#compressor = undefined;
  }

  /**
   * What retention must leave alone: the snapshot bag being written (see RecorderActivity in lakehouse/retention.ts).
   */
  active(): { files: string[]; bags: string[]; closing: string[] } {
    const dirs = [...this.#busy];
    return { files: dirs.map((d) => join(d, `${basename(d)}_0.mcap`)), bags: [], closing: dirs };
  }

  snapshot(): Promise<TakenSnapshot | undefined> {
    if (!this.#running)
      return Promise.reject(
        Object.assign(new Error('the snapshot buffer is stopped'), { statusCode: 503, code: 'unavailable' }),
      );
    if (this.#writing) return this.#writing.then((bag) => bag && { ...bag, joined: true });
    const writing = this.#take().finally(() => (this.#writing = undefined));
    this.#writing = writing;
    return writing.then((bag) => bag && { ...bag, joined: false });
  }

  async #take(): Promise<SnapshotBag | undefined> {
    // Messages published before the trigger but still in this buffer's queues on the bus belong in it.
    await new Promise((resolve) => setImmediate(resolve));
    const messages = this.#buffer.contents();
    if (messages.length === 0) return undefined;
    const writing = this.#writeSettings;
    const definitions = this.#definitions;
    let staging: string | undefined;
    try {
      const bag = await writeSnapshotBag(messages, {
        bagsDir: this.#bagsDir,
        io: this.#io,
        compression: writing.compression,
        compressor: this.#compressor,
        chunkSize: writing.chunk_size_bytes,
        chunkCrc: writing.chunk_crc,
        schemaText: (type) => (definitions.has(type) ? definitions.schemaText(type) : undefined),
        typeHash: (type) => this.#typeHash(type),
        topicQos: (topic) => this.#bus.topicQos(topic),
        onStaging: (dir) => this.#busy.add((staging = dir)),
      });
      this.#written++;
      this.#lastBag = bag.bag;
      this.#lastError = undefined;
      this.#log.info({ bag: bag.bag, messages: bag.messages }, 'snapshot: written');
      this.#onBag?.(bag.file, bag.bag);
      return bag;
    } catch (error) {
      this.#failed++;
      const e = error as NodeJS.ErrnoException;
      const kept = `the buffer is kept (${this.#buffer.size} messages)`;
      const message = isFullDisk(e)
        ? `no snapshot written: the disk holding ${this.#bagsDir} is full${diskSpaceText(this.#bagsDir)} (${e.message}); ${kept}. Free space there (delete old bags, or lower retention.max_bytes) and ask again`
        : `no snapshot written: ${e.message}; ${kept}: ask again`;
      this.#lastError = message;
      this.#log.error({ err: e.message, code: e.code }, `snapshot: ${message}`);
      throw Object.assign(new Error(message), { code: e.code });
    } finally {
      if (staging) this.#busy.delete(staging);
    }
  }

  health(): ComponentHealth {
    const s = this.#buffer.stats();
    const details = {
      topics: this.#topics.size,
      messages: s.messages,
      bytes: s.bytes,
      max_bytes: this.#settings.max_bytes,
      span_s: spanSeconds(s.oldestNs, s.newestNs),
      evicted: s.evicted,
      too_large: s.tooLarge,
      dropped: this.#dropped(),
      snapshots: this.#written,
      failed: this.#failed,
      writing: this.#writing !== undefined,
      last_bag: this.#lastBag ?? null,
    };
    if (!this.#running) return { state: 'stopped', details };
    if (this.#lastError) return { state: 'degraded', reason: `the last snapshot failed: ${this.#lastError}`, details };
    return { state: 'running', details };
  }

  metrics(): MetricFamily[] {
    const s = this.#buffer.stats();
    return [
      gauge('auraison_snapshot_buffered_messages', 'Messages held by the snapshot buffer.', s.messages),
      gauge(
        'auraison_snapshot_buffered_bytes',
        'Bytes held by the snapshot buffer (messages plus bookkeeping).',
        s.bytes,
      ),
      gauge(
        'auraison_snapshot_buffered_seconds',
        'Log time between the oldest and newest message held by the snapshot buffer.',
        spanSeconds(s.oldestNs, s.newestNs),
      ),
      counter(
        'auraison_snapshot_evicted_total',
        'Messages the snapshot buffer let go (out of the window, or for room).',
        s.evicted,
      ),
      counter(
        'auraison_snapshot_too_large_total',
        'Messages never buffered: larger than recorder.snapshot.max_bytes on their own.',
        s.tooLarge,
      ),
      counter(
        'auraison_snapshot_dropped_total',
        "Messages dropped from the snapshot buffer's queues on the bus (overflow).",
        this.#dropped(),
      ),
      counter('auraison_snapshot_written_total', 'Snapshot bags written.', this.#written),
      counter(
        'auraison_snapshot_failed_total',
        'Snapshots that could not be written (the buffer was kept).',
        this.#failed,
      ),
    ];
  }

  #dropped(): number {
    let n = 0;
    for (const d of this.#topics.drops().values()) n += d;
    return n;
  }

  #onMessage = (msg: BusMessage): void => {
    if (this.#buffer.add(msg) || this.#tooLargeTopics.has(msg.topic)) return;
    this.#tooLargeTopics.add(msg.topic);
    this.#log.warn(
      { topic: msg.topic, bytes: msg.data.byteLength, max_bytes: this.#settings.max_bytes },
      'snapshot: a message larger than recorder.snapshot.max_bytes is not buffered (said once per topic): raise max_bytes, or exclude the topic',
    );
  };

  #typeHash(type: string): string | undefined {
    if (!this.#typeHashes.has(type)) this.#typeHashes.set(type, typeDescriptionHash(this.#definitions, type));
    return this.#typeHashes.get(type);
  }
}

function spanSeconds(oldest: bigint | undefined, newest: bigint | undefined): number {
  return oldest === undefined || newest === undefined ? 0 : Number(newest - oldest) / 1e9;
}
