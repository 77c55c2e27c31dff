import type { Static } from 'typebox';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { compileRecordSelection } from '../bus/index.ts';
import type { BusMessage } from '../bus/index.ts';
import type { RecorderConfig } from '../config/index.ts';
import type { ClosedSplit, MetricFamily, MetricsProvider, PauseState, RecorderService } from '../contract/index.ts';
import type { Component, ComponentHealth } from '../lifecycle/index.ts';
import { RecordedCounts } from './recorded-counts.ts';
import { RecorderBags } from './recorder-bags.ts';
import { recorderMetrics } from './recorder-metrics.ts';
import { serveRecorderQueries } from './recorder-queries.ts';
import { RecordingPause } from './recording-pause.ts';
import { RecordingState, type RecordingStatus } from './recording-state.ts';
import { RecordingWriter } from './recording-writer.ts';
import { fsSegmentIO, type SegmentIO } from './segment-io.ts';
import { TopicSubscriptions } from './topic-subscriptions.ts';
import { errorText } from '../util/index.ts';

export { RECORDING_MARKER } from './recorder-bags.ts';
export { MIN_FREE_INODES } from './recording-state.ts';

export type RecorderSettings = Static<typeof RecorderConfig>;

/**
 * A topic silent this long (or for split_max_duration_s, if longer) and with no message in the split being
 * written is unsubscribed, and subscribed again at its next message: see TopicSubscriptions.
 */
export const QUIET_TOPIC_MS = 10 * 60 * 1000;

export interface RecorderOptions {
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
  /** `<data_dir>/bags`. */
  bagsDir: string;
  settings: RecorderSettings;
  io?: SegmentIO;
  /**
   * Called with each split once it is closed and listed in metadata.yaml (the lakehouse indexes it); `byStop`: the
   * recorder's close() closed it.
   */
  onSplitClosed?: (file: string, bagDir: string, byStop: boolean) => void;
  /** How often free disk space is checked (and a failed recorder retried), ms. */
  diskCheckMs?: number;
  /**
   * Backoff after an I/O error, and after a failed resume from a full disk: first wait and cap, ms; doubles per
   * failure.
   */
  retryMs?: { first: number; max: number };
  /**
   * Wall clock, ms (tests step it to walk through the backoff and quiet topics' time; that one is monotonic otherwise).
   */
  now?: () => number;
}

/**
 * Records the selected bus topics into rosbag2 bags. Each topic gets its own bounded queue on the bus, and
 * the handler only appends to memory, so the recorder never holds up a publisher or a control loop: when
 * it falls behind (queue overflow, the disk too slow) or can't write (disk full), messages are dropped and
 * counted per topic, in metrics, status and the bag's metadata.yaml. Nothing is lost silently.
 *
 * When the disk fills, recording stops with a clear status and the daemon carries on (a disk already full
 * at start included); it resumes into a new bag once free space is back above `min_free_bytes` and
 * MIN_FREE_INODES inodes. Below `min_free_bytes` the bag is closed; after a write that failed it is
 * abandoned, and repaired before the resume (its unlisted splits kept from retention until then). A
 * resume that fails (the disk still full) waits out the same backoff as `failed`.
 *
 * A bag is closed, and a new one started, once it spans `bag_max_duration_s` or holds `bag_max_splits`
 * splits, so a recorder that runs for months writes many bags of bounded size, not one that grows forever.
 * Any other I/O error (EIO, EROFS, ...) puts it in `failed`: it retries into a new bag after a backoff that
 * doubles per failure (1 s up to 60 s), so a broken disk doesn't get a new bag directory every second.
 *
 * This class is the component: it subscribes the selected topics (TopicSubscriptions), counts what it wrote
 * and dropped (RecordedCounts), pauses (RecordingPause) and hands each message to the RecordingWriter, which
 * keeps the bag open through disk faults. Once close() has returned nothing of the recorder runs.
 */
export class Recorder implements Component, MetricsProvider, RecorderService {
  readonly name = 'recorder';
  readonly #settings: RecorderSettings;
  readonly #bus: Bus;
  readonly #diskCheckMs: number | undefined;
  readonly #log: Logger;
  #select: (topic: string) => boolean;
  #topics: TopicSubscriptions;
  #bags: RecorderBags;
  #recording: RecordingState;
  #writer: RecordingWriter;
  #quietMs: number;
  #quietClock: () => number;
  #nextQuietSweep = -Infinity;
  #unlisten: (() => void) | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #diskTimer: NodeJS.Timeout | undefined;
  #counts = new RecordedCounts();
  #pause: RecordingPause;
  #stopServing: (() => void)[] = [];
  /** Set by close(): the splits closed from then on are closed by the stop. */
  #closing = false;

  constructor(options: RecorderOptions) {
    const { bagsDir, settings, bus, diskCheckMs, log, definitions, onSplitClosed, io = fsSegmentIO } = options;
    this.#settings = settings;
    this.#bus = bus;
    this.#diskCheckMs = diskCheckMs;
    this.#log = log;
    this.#select = compileRecordSelection(settings.include, settings.exclude, settings.include_hidden);
    const { queue, split_max_duration_s } = settings;
    // Quiet time is measured on a monotonic clock (the wall clock steps on robots), unless a test steps `now`.
    this.#quietClock = options.now ?? (() => performance.now());
    this.#topics = new TopicSubscriptions({
      bus,
      name: 'recorder',
      queue: { policy: queue.policy, depth: queue.depth },
      handler: this.#onMessage,
      now: this.#quietClock,
    });
    this.#quietMs = Math.max(QUIET_TOPIC_MS, split_max_duration_s * 1000);
    this.#bags = new RecorderBags({
      ...{ bus, definitions, log, bagsDir, settings, io },
      onSplitClosed: onSplitClosed && ((file, bagDir) => onSplitClosed(file, bagDir, this.#closing)),
    });
    this.#pause = new RecordingPause({
      log,
      latched: (topic) => bus.topicQos(topic)?.durability === 'transient_local',
    });
    this.#recording = new RecordingState({
      minFreeBytes: settings.min_free_bytes,
      retryMs: options.retryMs,
      now: () => (options.now ? options.now() : Date.now()),
    });
    this.#writer = new RecordingWriter({
      log,
      bagsDir,
      io,
      bags: this.#bags,
      recording: this.#recording,
      compression: settings.compression,
      maxPendingBytes: settings.max_pending_bytes,
      drops: () => this.drops(),
    });
  }

  /** Bags this recorder started, oldest first. */
  get bags(): readonly string[] {
    return this.#bags.opened;
  }

  /** The split being written now. */
  get currentFile(): string | undefined {
    return this.#writer.currentFile;
  }

  /**
   * What retention must leave alone (RecorderActivity in lakehouse/retention.ts): the splits not yet handed
   * to onSplitClosed, the bags whose metadata.yaml this recorder writes, and the bags it is closing or
   * repairing. A split retention deleted anyway would never be indexed, and a bag directory removed
   * mid-close fails that close.
   */
  active(): { files: string[]; bags: string[]; closing: string[] } {
    const { bags: abandoned, closing, files: unfinished } = this.#bags.active();
    const files = [...this.#writer.activeFiles, ...unfinished];
    const dir = this.#writer.dir;
    return { files, bags: [...(dir !== undefined ? [dir] : []), ...abandoned], closing };
  }

  get state(): RecordingStatus {
    return this.#recording.status;
  }

  /** Starts recording, or stopped in `disk_full` on a disk already full (see RecordingWriter.open). */
  async start(): Promise<void> {
    await this.#writer.open();
    if (this.#settings.start_paused) this.pause();
    this.#unlisten = this.#bus.onTopic((topic) => this.#attach(topic));
    this.#flushTimer = setInterval(() => void this.#writer.flush(), this.#settings.flush_interval_ms);
    this.#diskTimer = setInterval(() => void this.#checkDisk(), this.#diskCheckMs ?? 1000);
    this.#flushTimer.unref();
    this.#diskTimer.unref();
    this.#stopServing = serveRecorderQueries(this.#bus, this);
  }

  async close(): Promise<void> {
    this.#closing = true;
    for (const stopServing of this.#stopServing.splice(0)) stopServing();
    clearInterval(this.#flushTimer);
    clearInterval(this.#diskTimer);
    this.#unlisten?.();
    await this.#writer.quiesce();
    // Messages already queued on the bus are delivered before the queues close: stopping is not a drop.
    await new Promise((resolve) => setImmediate(resolve));
    const drops = this.drops();
    this.#topics.closeAll();
    await this.#writer.close(drops);
  }

  health(): ComponentHealth {
    const details = {
      bag: this.#writer.dir ?? null,
      topics: this.#topics.size,
      quiet_topics: this.#topics.quietCount,
      messages: this.#counts.total,
      dropped: Object.values(this.drops()).reduce((a, b) => a + b, 0),
      pending_bytes: this.#writer.pendingBytes,
      paused: this.#pause.paused,
      not_recorded_while_paused: this.#pause.notRecorded,
    };
    const status = this.#recording.status;
    const paused = this.#pause.reason;
    if (status === 'recording') return { state: 'running', ...(paused ? { reason: paused } : {}), details };
    if (status === 'disk_full' || status === 'failed')
      return { state: 'degraded', reason: this.#recording.reason, details };
    return { state: 'stopped', details };
  }

  /** Messages dropped per topic: queue overflow on the bus plus the recorder's own drops. */
  drops(): Record<string, number> {
    return this.#counts.drops(this.#topics.drops());
  }

  written(): Record<string, number> {
    return Object.fromEntries(this.#counts.written);
  }

  /**
   * Writes and fsyncs what was recorded so far (tests and shutdown paths use it). A flush already running
   * (the periodic one) may have cut its chunk before the caller's last messages came: it is waited for, and
   * then this one runs.
   */
  flush(): Promise<void> {
    return this.#writer.flushNow();
  }

  /**
   * Closes the split being recorded (as rosbag2's `~/split_bagfile` service does), so what was recorded up
   * to now is indexed without waiting for split_max_duration_s or split_max_bytes; recording goes on in
   * the next split of the same bag. Messages already on the bus are written first. Resolves once the split
   * is listed in metadata.yaml and handed to onSplitClosed; undefined when nothing was recorded since the
   * last split (no empty split is written).
   */
  async split(): Promise<ClosedSplit | undefined> {
    this.#writer.refuseUnlessRecording();
    // Messages published before the request but still in the recorder's queues belong in this split.
    await new Promise((resolve) => setImmediate(resolve));
    return this.#writer.split();
  }

  metrics(): MetricFamily[] {
    return recorderMetrics({
      written: this.#counts.written,
      drops: this.drops(),
      pendingBytes: this.#writer.pendingBytes,
      status: this.#recording.status,
      paused: this.#pause.paused,
      notRecordedWhilePaused: this.#pause.notRecorded,
    });
  }

  #attach(topic: string): void {
    // No addTopic here: the writer declares a topic in a bag once it has a message there (topicInfo).
    if (this.#select(topic)) this.#topics.subscribe(topic);
  }

  /**
   * Lets go of topics silent for #quietMs that have no message in the split being written (each costs
   * about 2 KiB while subscribed); they are subscribed again at their next message. Their message counts
   * leave the per-topic metrics (health's total keeps them); their drop counts stay.
   */
  #forgetQuietTopics(): void {
    const now = this.#quietClock();
    if (now < this.#nextQuietSweep) return;
    this.#nextQuietSweep = now + this.#quietMs / 10;
    for (const topic of this.#topics.forgetQuiet(this.#quietMs, (t) => this.#writer.hasChannel(t)))
      this.#counts.forget(topic);
  }

  #onMessage = (msg: BusMessage): void => {
    if (this.#pause.paused) return this.#pause.notRecording(msg);
    if (this.#writer.write(msg)) this.#counts.wrote(msg.topic);
    else this.#counts.dropped(msg.topic);
  };

  /**
   * Stops writing messages until resume(), keeping the bag and its open split (rosbag2's ~/pause). Messages
   * meanwhile are counted as not recorded, not as drops. Pausing a paused recorder changes nothing.
   */
  pause(): PauseState {
    return this.#pause.pause();
  }

  /** Records again (rosbag2's ~/resume), first the latched topics' messages that came while paused. */
  resume(): PauseState {
    return this.#pause.resume(this.#onMessage);
  }

  pauseState(): Omit<PauseState, 'changed'> {
    return this.#pause.state();
  }

  /** Runs from a timer: it must never throw (an unhandled rejection would take the daemon down). */
  #checkDisk(): Promise<void> {
    try {
      this.#forgetQuietTopics();
    } catch (error) {
      this.#log.error({ err: errorText(error) }, 'recorder: letting go of quiet topics failed');
    }
    return this.#writer.checkDisk();
  }
}
