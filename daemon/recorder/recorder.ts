import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Static } from 'typebox';
import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { DefinitionsRegistry } from '../bus/index.ts';
import { compileRecordSelection } from '../bus/index.ts';
import type { BusMessage } from '../bus/index.ts';
import type { RecorderConfig } from '../config/index.ts';
import type { ClosedSplit, MetricFamily, MetricsProvider, PauseState, RecorderService } from '../contract/index.ts';
import { nowNs, nsToIso } from '../contract/index.ts';
import type { Component, ComponentHealth } from '../lifecycle/index.ts';
import type { BagWriter } from './bag-writer.ts';
import { loadCompressor, type Compressor } from './chunk-compression.ts';
import { RecorderBags } from './recorder-bags.ts';
import { recorderMetrics } from './recorder-metrics.ts';
import { isFullDisk, RecordingState, type RecordingStatus } from './recording-state.ts';
import { fsSegmentIO, type SegmentIO } from './segment-io.ts';
import { TopicSubscriptions } from './topic-subscriptions.ts';

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
  /** Called with each split once it is closed and listed in metadata.yaml (the lakehouse indexes it). */
  onSplitClosed?: (file: string, bagDir: string) => void;
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
 * Once close() has returned nothing of the recorder runs: it waits for the disk check and the flush under
 * way, and those look, after each wait, whether a stop came meanwhile before they stop or resume recording.
 */
export class Recorder implements Component, MetricsProvider, RecorderService {
  readonly name = 'recorder';
  readonly #bagsDir: string;
  readonly #settings: RecorderSettings;
  readonly #bus: Bus;
  readonly #diskCheckMs: number | undefined;
  readonly #log: Logger;
  #io: SegmentIO;
  #select: (topic: string) => boolean;
  #topics: TopicSubscriptions;
  #bags: RecorderBags;
  #recording: RecordingState;
  #quietMs: number;
  #quietClock: () => number;
  #nextQuietSweep = -Infinity;
  /** Messages written on topics since let go while quiet (their own counts go with them). */
  #quietWritten = 0;
  #unlisten: (() => void) | undefined;
  #writer: BagWriter | undefined;
  #compressor: Compressor | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #diskTimer: NodeJS.Timeout | undefined;
  /** The flush running now (the periodic one, or a caller's). */
  #flushing: Promise<void> | undefined;
  /** The disk check running now: one at a time, and close() waits for it. */
  #checking: Promise<void> | undefined;
  /** Set by close(): a disk check that was waiting neither resumes nor stops recording after that. */
  #stopping = false;
  #written = new Map<string, number>();
  #ownDrops = new Map<string, number>();
  /** Set while paused (rosbag2's ~/pause): when, ns since the epoch. */
  #pausedSince: bigint | undefined;
  /** Messages not recorded while paused: in all, and in the current pause. */
  #notRecorded = { total: 0, thisPause: 0 };
  /** The last message of each latched (transient_local) topic that came while paused: recorded at resume. */
  #heldLatched = new Map<string, BusMessage>();
  #stopServing: (() => void)[] = [];

  constructor(options: RecorderOptions) {
    const { bagsDir, settings, bus, diskCheckMs, log, definitions, onSplitClosed } = options;
    this.#bagsDir = bagsDir;
    this.#settings = settings;
    this.#bus = bus;
    this.#diskCheckMs = diskCheckMs;
    this.#log = log;
    this.#io = options.io ?? fsSegmentIO;
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
    this.#bags = new RecorderBags({ bus, definitions, log, bagsDir, settings, io: this.#io, onSplitClosed });
    this.#recording = new RecordingState({
      minFreeBytes: settings.min_free_bytes,
      retryMs: options.retryMs,
      now: () => (options.now ? options.now() : Date.now()),
    });
  }

  /** Bags this recorder started, oldest first. */
  get bags(): readonly string[] {
    return this.#bags.opened;
  }

  /** The split being written now. */
  get currentFile(): string | undefined {
    return this.#writer?.currentFile;
  }

  /**
   * What retention must leave alone (RecorderActivity in lakehouse/retention.ts): the splits not yet handed
   * to onSplitClosed, the bags whose metadata.yaml this recorder writes, and the bags it is closing or
   * repairing. A split retention deleted anyway would never be indexed, and a bag directory removed
   * mid-close fails that close.
   */
  active(): { files: string[]; bags: string[]; closing: string[] } {
    const { bags: abandoned, closing, files: unfinished } = this.#bags.active();
    const files = [...(this.#writer?.activeFiles ?? []), ...unfinished];
    return { files, bags: [...(this.#writer ? [this.#writer.dir] : []), ...abandoned], closing };
  }

  get state(): RecordingStatus {
    return this.#recording.status;
  }

  /**
   * Starts recording, or, on a disk already full (below `min_free_bytes` or MIN_FREE_INODES, a bag it can't
   * create, a bag left open whose repair needs room), starts stopped in `disk_full`: the daemon (and the
   * retention that frees space) must come up on a full disk, and the disk check resumes recording once
   * there is room, as after a disk that filled while recording.
   */
  async start(): Promise<void> {
    this.#stopping = false;
    let full: { error: NodeJS.ErrnoException; bag?: string } | undefined;
    try {
      mkdirSync(this.#bagsDir, { recursive: true });
      full = await this.#bags.repairLeftovers();
    } catch (error) {
      if (!isFullDisk(error as NodeJS.ErrnoException)) throw error;
      full = { error: error as NodeJS.ErrnoException };
    }
    this.#compressor = await loadCompressor(this.#settings.compression);
    full ??= await this.#shortAtStart();
    if (!full) {
      try {
        this.#writer = this.#bags.open(this.#compressor);
      } catch (error) {
        if (!isFullDisk(error as NodeJS.ErrnoException)) throw error;
        full = { error: error as NodeJS.ErrnoException };
      }
    }
    if (full) this.#enterStopped(full.error, full.bag);
    else this.#recording.set('recording');
    if (this.#settings.start_paused) this.pause();
    this.#unlisten = this.#bus.onTopic((topic) => this.#attach(topic));
    this.#flushTimer = setInterval(() => void this.#flush(), this.#settings.flush_interval_ms);
    this.#diskTimer = setInterval(() => void this.#checkDisk(), this.#diskCheckMs ?? 1000);
    this.#flushTimer.unref();
    this.#diskTimer.unref();
    this.#serveQueries();
  }

  /**
   * rosbag2's recorder services as bus queries, for the robot's other processes and the agent's
   * call_service: `recorder/split`, `recorder/pause`, `recorder/resume`, each answering JSON (the split
   * is not waited on for indexing here: POST /recorder/split does that).
   */
  #serveQueries(): void {
    const json = (value: unknown) => ({
      encoding: 'application/json',
      payload: new TextEncoder().encode(JSON.stringify(value)),
    });
    const bus = this.#bus;
    this.#stopServing = [
      bus.serve('recorder/split', async () => json({ split: (await this.split()) ?? null })),
      bus.serve('recorder/pause', async () => json(this.pause())),
      bus.serve('recorder/resume', async () => json(this.resume())),
    ];
  }

  /** ENOSPC when the disk is short of what recording needs, as the disk check finds it. */
  async #shortAtStart(): Promise<{ error: NodeJS.ErrnoException } | undefined> {
    try {
      this.#recording.space = await this.#io.freeSpace(this.#bagsDir);
    } catch {
      return undefined; // statfs failing says nothing about space; the first write will tell
    }
    const short = this.#recording.shortage(this.#recording.space);
    return short ? { error: Object.assign(new Error(short), { code: 'ENOSPC' }) } : undefined;
  }

  async close(): Promise<void> {
    this.#stopping = true;
    for (const stopServing of this.#stopServing.splice(0)) stopServing();
    clearInterval(this.#flushTimer);
    clearInterval(this.#diskTimer);
    this.#unlisten?.();
    // A check or flush that was waiting on the disk ends first: either would still abandon this bag, or
    // open a new one after this returned.
    await this.#checking;
    while (this.#flushing) await this.#flushing;
    // Messages already queued on the bus are delivered before the queues close: stopping is not a drop.
    await new Promise((resolve) => setImmediate(resolve));
    const drops = this.drops();
    this.#topics.closeAll();
    await this.#bags.settled();
    if (this.#writer && this.#recording.status === 'recording') {
      this.#writer.setDrops(drops);
      await this.#bags.close(this.#writer);
    }
    this.#writer = undefined;
    this.#recording.set('stopped');
    // Every bag is closed or abandoned by now: nothing compresses any more.
    await this.#compressor?.close?.();
    this.#compressor = undefined;
  }

  health(): ComponentHealth {
    const details = {
      bag: this.#writer?.dir ?? null,
      topics: this.#topics.size,
      quiet_topics: this.#topics.quietCount,
      messages: [...this.#written.values()].reduce((a, b) => a + b, this.#quietWritten),
      dropped: Object.values(this.drops()).reduce((a, b) => a + b, 0),
      pending_bytes: this.#writer?.pendingBytes ?? 0,
      paused: this.#pausedSince !== undefined,
      not_recorded_while_paused: this.#notRecorded.total,
    };
    const status = this.#recording.status;
    const paused =
      this.#pausedSince === undefined
        ? undefined
        : `paused since ${nsToIso(this.#pausedSince)}: \`auraison-edge bag resume\` records again`;
    if (status === 'recording') return { state: 'running', ...(paused ? { reason: paused } : {}), details };
    if (status === 'disk_full' || status === 'failed')
      return { state: 'degraded', reason: this.#recording.reason, details };
    return { state: 'stopped', details };
  }

  /** Messages dropped per topic: queue overflow on the bus plus the recorder's own drops. */
  drops(): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(this.#topics.drops());
    for (const [topic, n] of this.#ownDrops) out[topic] = (out[topic] ?? 0) + n;
    return out;
  }

  written(): Record<string, number> {
    return Object.fromEntries(this.#written);
  }

  /**
   * Writes and fsyncs what was recorded so far (tests and shutdown paths use it). A flush already running
   * (the periodic one) may have cut its chunk before the caller's last messages came: it is waited for, and
   * then this one runs.
   */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await this.#flush();
  }

  /**
   * Closes the split being recorded (as rosbag2's `~/split_bagfile` service does), so what was recorded up
   * to now is indexed without waiting for split_max_duration_s or split_max_bytes; recording goes on in
   * the next split of the same bag. Messages already on the bus are written first. Resolves once the split
   * is listed in metadata.yaml and handed to onSplitClosed; undefined when nothing was recorded since the
   * last split (no empty split is written).
   */
  async split(): Promise<ClosedSplit | undefined> {
    this.#refuseUnlessRecording();
    // Messages published before the request but still in the recorder's queues belong in this split.
    await new Promise((resolve) => setImmediate(resolve));
    this.#refuseUnlessRecording();
    const writer = this.#writer!;
    let closed;
    try {
      closed = await writer.splitNow();
    } catch (error) {
      // The close failed as a write does: the flush that meets writer.error stops recording with the reason.
      void this.#flush();
      throw error;
    }
    // A bag rotated just before the request is still closing in the background: its last split holds
    // messages recorded before this one, and goes to the lakehouse first (its index job queued ahead).
    await this.#bags.settled();
    if (!closed) return undefined;
    const { info, closedNow } = closed;
    const file = join(writer.dir, info.path);
    if (closedNow) this.#log.info({ file, messages: info.messageCount }, 'recorder: split closed on request');
    return {
      file,
      bag: writer.dir,
      messages: info.messageCount,
      start_ns: String(info.startingTimeNs),
      end_ns: String(info.startingTimeNs + info.durationNs),
      closed_now: closedNow,
    };
  }

  #refuseUnlessRecording(): void {
    const status = this.#recording.status;
    if (status === 'recording' && this.#writer) return;
    const why = status === 'disk_full' || status === 'failed' ? `${status}: ${this.#recording.reason}` : status;
    throw Object.assign(new Error(`the recorder is not recording (${why}): there is no split to close`), {
      statusCode: 409,
      code: 'not_recording',
    });
  }

  metrics(): MetricFamily[] {
    return recorderMetrics({
      written: this.#written,
      drops: this.drops(),
      pendingBytes: this.#writer?.pendingBytes ?? 0,
      status: this.#recording.status,
      paused: this.#pausedSince !== undefined,
      notRecordedWhilePaused: this.#notRecorded.total,
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
    const writer = this.#writer;
    for (const topic of this.#topics.forgetQuiet(this.#quietMs, (t) => writer?.hasChannel(t) ?? false)) {
      this.#quietWritten += this.#written.get(topic) ?? 0;
      this.#written.delete(topic);
    }
  }

  #onMessage = (msg: BusMessage): void => {
    if (this.#pausedSince !== undefined) return this.#notRecordedWhilePaused(msg);
    const writer = this.#writer;
    if (this.#recording.status !== 'recording' || !writer) return this.#drop(msg.topic);
    // The disk is behind: dropping here keeps memory bounded; the drop is counted like any other.
    if (writer.pendingBytes > this.#settings.max_pending_bytes) return this.#drop(msg.topic);
    if (writer.full(msg.logTime)) {
      const next = this.#rotate(writer);
      if (!next) return this.#drop(msg.topic);
      next.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
    } else {
      writer.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
    }
    this.#written.set(msg.topic, (this.#written.get(msg.topic) ?? 0) + 1);
  };

  /**
   * Paused: the message is not recorded, and that is no drop (it was asked for). A latched topic's last
   * message is kept for the resume, so the bag after it still has the /map or /tf_static published once
   * during the pause (a late subscriber would get it from the bus; a bag reader only from the bag).
   */
  #notRecordedWhilePaused(msg: BusMessage): void {
    this.#notRecorded.total++;
    this.#notRecorded.thisPause++;
    if (this.#bus.topicQos(msg.topic)?.durability === 'transient_local') this.#heldLatched.set(msg.topic, msg);
  }

  /**
   * Stops writing messages until resume(), keeping the bag and its open split (rosbag2's ~/pause). Messages
   * meanwhile are counted as not recorded, not as drops. Pausing a paused recorder changes nothing.
   */
  pause(): PauseState {
    const changed = this.#pausedSince === undefined;
    if (changed) {
      this.#pausedSince = nowNs();
      this.#notRecorded.thisPause = 0;
      this.#log.info('recorder: paused; `auraison-edge bag resume` (POST /recorder/resume) records again');
    }
    return { ...this.pauseState(), changed };
  }

  /** Records again (rosbag2's ~/resume), first the latched topics' messages that came while paused. */
  resume(): PauseState {
    const changed = this.#pausedSince !== undefined;
    const notRecorded = this.#notRecorded.thisPause;
    if (changed) {
      this.#pausedSince = undefined;
      const held = [...this.#heldLatched.values()];
      this.#heldLatched.clear();
      // Stamped now, as a subscriber that joined at the resume gets them (ROS hands it the latched message
      // then; their publish time is their own): they go in the bag recorded after the pause, also when the
      // pause outlasted bag_max_duration_s and the first of them rotates the bag.
      const now = nowNs();
      for (const msg of held) this.#onMessage({ ...msg, logTime: now });
      this.#log.info({ not_recorded: notRecorded }, 'recorder: resumed');
    }
    return { paused: false, since_ns: null, not_recorded: notRecorded, changed };
  }

  pauseState(): Omit<PauseState, 'changed'> {
    return {
      paused: this.#pausedSince !== undefined,
      since_ns: this.#pausedSince === undefined ? null : String(this.#pausedSince),
      not_recorded: this.#notRecorded.thisPause,
    };
  }

  #drop(topic: string): void {
    this.#ownDrops.set(topic, (this.#ownDrops.get(topic) ?? 0) + 1);
  }

  /**
   * The bag is full (bag_max_splits, bag_max_duration_s): it is closed in the background and recording goes
   * on in a new one. Runs in the bus handler; a new bag that can't be made stops recording as any I/O
   * error does (the full one is still closed cleanly).
   */
  #rotate(full: BagWriter): BagWriter | undefined {
    full.setDrops(this.drops());
    this.#bags.closeInBackground(full);
    this.#writer = undefined;
    try {
      this.#writer = this.#bags.open(this.#compressor);
    } catch (error) {
      this.#enterStopped(error as NodeJS.ErrnoException);
      return undefined;
    }
    return this.#writer;
  }

  #flush(): Promise<void> {
    const writer = this.#writer;
    if (this.#flushing || this.#recording.status !== 'recording' || !writer) return Promise.resolve();
    const flushing = this.#flushWriter(writer).finally(() => (this.#flushing = undefined));
    this.#flushing = flushing;
    return flushing;
  }

  async #flushWriter(writer: BagWriter): Promise<void> {
    try {
      writer.setDrops(this.drops());
      const wrote = writer.pendingBytes > 0;
      await writer.flush();
      if (wrote) this.#recording.confirmed();
    } catch (error) {
      await this.#stopForError(error as NodeJS.ErrnoException);
    }
  }

  /** Runs from a timer: it must never throw (an unhandled rejection would take the daemon down). */
  #checkDisk(): Promise<void> {
    try {
      this.#forgetQuietTopics();
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, 'recorder: letting go of quiet topics failed');
    }
    // One check at a time: a resume awaits the repair of the abandoned bag, and a second check meanwhile
    // would resume too, into a second new bag.
    this.#checking ??= this.#check().finally(() => (this.#checking = undefined));
    return this.#checking;
  }

  async #check(): Promise<void> {
    try {
      if (this.#recording.status === 'failed') {
        if (this.#recording.retryDue()) await this.#resume();
        return;
      }
      // A resume that failed waits out its backoff, even when statfs says there is room (it said so before).
      if (this.#recording.status === 'disk_full' && !this.#recording.retryDue()) return;
      try {
        this.#recording.space = await this.#io.freeSpace(this.#bagsDir);
      } catch {
        return; // statfs failing says nothing about space; the next write will tell
      }
      if (this.#stopping) return;
      const short = this.#recording.shortage(this.#recording.space);
      if (this.#recording.status === 'recording' && short) {
        await this.#stopForError(Object.assign(new Error(short), { code: 'ENOSPC' }), true);
      } else if (this.#recording.status === 'disk_full' && !short) {
        await this.#resume();
      }
    } catch (error) {
      this.#log.error({ err: (error as Error).message }, 'recorder: disk check failed');
    }
  }

  /**
   * Stops recording: after a write that failed the bag is abandoned (a repair finishes it); when free space
   * only ran short (`shortage`: room left) it is closed, so its splits are listed and handed over at once.
   */
  async #stopForError(error: NodeJS.ErrnoException, shortage = false): Promise<void> {
    if (this.#recording.status !== 'recording') return;
    this.#enterStopped(error);
    const writer = this.#writer;
    this.#writer = undefined;
    if (writer) {
      writer.setDrops(this.drops());
      await (shortage ? this.#bags.closeOrAbandon(writer) : this.#bags.abandon(writer));
    }
  }

  /** `bag`: the one being written, or the abandoned one whose repair blocked a resume. */
  #enterStopped(error: NodeJS.ErrnoException, bag = this.#writer?.dir): void {
    const reason = this.#recording.stopped(error);
    this.#log.error({ err: error.message, code: error.code, bag }, `recorder: ${reason}`);
  }

  async #resume(): Promise<void> {
    const blocked = await this.#bags.repairAbandoned(() => this.#stopping);
    // Stopped while repairing: the next start repairs what is left, and opens the bag.
    if (this.#stopping) return;
    if (blocked) return this.#enterStopped(blocked.error, blocked.bag);
    try {
      this.#writer = this.#bags.open(this.#compressor);
    } catch (error) {
      this.#enterStopped(error as NodeJS.ErrnoException);
      return;
    }
    const was = this.#recording.resumed();
    this.#log.info(
      was === 'disk_full'
        ? 'recorder: disk space is back; recording resumed'
        : 'recorder: retrying after an I/O error; recording resumed',
    );
  }
}
