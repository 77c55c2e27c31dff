import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Static } from 'typebox';
import type { Logger } from 'pino';
import type { Bus } from '../bus/bus.ts';
import type { DefinitionsRegistry } from '../bus/definitions.ts';
import { compileTopicSelection } from '../bus/glob.ts';
import { typeDescriptionHash } from '../bus/type-hash.ts';
import type { BusMessage } from '../bus/types.ts';
import type { RecorderConfig } from '../config/sections/bags.ts';
import type { MetricFamily, MetricsProvider } from '../contract/services.ts';
import type { Component, ComponentHealth } from '../lifecycle/component.ts';
import { BagWriter } from './bag-writer.ts';
import { loadCompressor, type Compressor } from './chunk-compression.ts';
import { repairBag } from './repair.ts';
import { sweepStaleTempFiles } from './stale-temp-files.ts';
import { fsSegmentIO, type FreeSpace, type SegmentIO } from './segment-io.ts';
import { TopicSubscriptions } from './topic-subscriptions.ts';

export type RecorderSettings = Static<typeof RecorderConfig>;

/** A bag directory holding this file was being recorded and was not closed cleanly. */
export const RECORDING_MARKER = '.recording';

/**
 * Free inodes below which recording stops, and above which it resumes: a bag takes a directory, its
 * marker, metadata.yaml and its temporary file, and one per split. Many small files (parquet) can use up
 * a file system's inodes while bytes are left, and then every create fails with ENOSPC.
 */
export const MIN_FREE_INODES = 16;

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
  /** Backoff after an I/O error, and after a failed resume from a full disk: first wait and cap, ms; doubles per failure. */
  retryMs?: { first: number; max: number };
  /** Wall clock, ms (tests step it to walk through the backoff and quiet topics' time; that one is monotonic otherwise). */
  now?: () => number;
}

type State = 'stopped' | 'recording' | 'disk_full' | 'failed';

/**
 * Records the selected bus topics into rosbag2 bags. Each topic gets its own bounded queue on the bus, and
 * the handler only appends to memory, so the recorder never holds up a publisher or a control loop: when
 * it falls behind (queue overflow, the disk too slow) or can't write (disk full), messages are dropped and
 * counted per topic, in metrics, status and the bag's metadata.yaml. Nothing is lost silently.
 *
 * When the disk fills, recording stops with a clear status and the daemon carries on; it resumes into a
 * new bag once free space is back above `min_free_bytes` and MIN_FREE_INODES inodes, after repairing the
 * one it had to abandon. A resume that fails (the disk still full) waits out the same backoff as `failed`.
 *
 * A bag is closed, and a new one started, once it spans `bag_max_duration_s` or holds `bag_max_splits`
 * splits, so a recorder that runs for months writes many bags of bounded size, not one that grows forever.
 * Any other I/O error (EIO, EROFS, ...) puts it in `failed`: it retries into a new bag after a backoff that
 * doubles per failure (1 s up to 60 s), so a broken disk doesn't get a new bag directory every second.
 */
export class Recorder implements Component, MetricsProvider {
  readonly name = 'recorder';
  #o: RecorderOptions;
  #io: SegmentIO;
  #select: (topic: string) => boolean;
  #topics: TopicSubscriptions;
  #quietMs: number;
  #quietClock: () => number;
  #nextQuietSweep = -Infinity;
  /** Messages written on topics since let go while quiet (their own counts go with them). */
  #quietWritten = 0;
  #unlisten: (() => void) | undefined;
  #writer: BagWriter | undefined;
  #compressor: Compressor | undefined;
  #state: State = 'stopped';
  #reason: string | undefined;
  #flushTimer: NodeJS.Timeout | undefined;
  #diskTimer: NodeJS.Timeout | undefined;
  /** The flush running now (the periodic one, or a caller's). */
  #flushing: Promise<void> | undefined;
  #checking = false;
  #written = new Map<string, number>();
  #ownDrops = new Map<string, number>();
  #abandoned: string[] = [];
  #bags: string[] = [];
  /** Bags closed by rotation, still finishing in the background (stop waits for them), and the one stop closes. */
  #closingBags = new Map<BagWriter, Promise<void>>();
  /** The abandoned bag a resume is repairing now. */
  #repairing: string | undefined;
  #typeHashes = new Map<string, string | undefined>();
  /** I/O failures since recording last wrote data successfully, and when the next retry is due. */
  #failures = 0;
  #retryAt = 0;
  /** When recording stopped for a full disk, and why: kept in the reason while resumes fail. */
  #fullSince: { at: string; cause: string } | undefined;
  /** A resume from a full disk is unconfirmed until data reaches the disk: stopping again before that backs off. */
  #unconfirmed = false;
  /** Free space at the last disk check. */
  #space: FreeSpace | undefined;

  constructor(options: RecorderOptions) {
    this.#o = options;
    this.#io = options.io ?? fsSegmentIO;
    this.#select = compileTopicSelection(options.settings.include, options.settings.exclude);
    const { queue, split_max_duration_s } = options.settings;
    // Quiet time is measured on a monotonic clock (the wall clock steps on robots), unless a test steps `now`.
    this.#quietClock = options.now ?? (() => performance.now());
    this.#topics = new TopicSubscriptions({ bus: options.bus, name: 'recorder', queue: { policy: queue.policy, depth: queue.depth }, handler: this.#onMessage, now: this.#quietClock });
    this.#quietMs = Math.max(QUIET_TOPIC_MS, split_max_duration_s * 1000);
  }

  /** Bags this recorder started, oldest first. */
  get bags(): readonly string[] {
    return this.#bags;
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
    const files = this.#writer?.activeFiles ?? [];
    const bags = [...(this.#writer ? [this.#writer.dir] : []), ...this.#abandoned];
    const closing = [...[...this.#closingBags.keys()].map((w) => w.dir), ...(this.#repairing ? [this.#repairing] : [])];
    return { files, bags, closing };
  }

  get state(): State {
    return this.#state;
  }

  async start(): Promise<void> {
    mkdirSync(this.#o.bagsDir, { recursive: true });
    await this.#repairLeftovers();
    this.#compressor = await loadCompressor(this.#o.settings.compression);
    this.#openBag();
    this.#state = 'recording';
    this.#unlisten = this.#o.bus.onTopic((topic) => this.#attach(topic));
    this.#flushTimer = setInterval(() => void this.#flush(), this.#o.settings.flush_interval_ms);
    this.#diskTimer = setInterval(() => void this.#checkDisk(), this.#o.diskCheckMs ?? 1000);
    this.#flushTimer.unref();
    this.#diskTimer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.#flushTimer);
    clearInterval(this.#diskTimer);
    this.#unlisten?.();
    // Messages already queued on the bus are delivered before the queues close: stopping is not a drop.
    await new Promise((resolve) => setImmediate(resolve));
    const drops = this.drops();
    this.#topics.closeAll();
    await Promise.all(this.#closingBags.values());
    if (this.#writer && this.#state === 'recording') {
      const writer = this.#writer;
      writer.setDrops(drops);
      // Closing: its last metadata.yaml write must see every deletion, so retention leaves the bag alone now.
      this.#closingBags.set(writer, Promise.resolve());
      try {
        await writer.close();
        rmSync(join(writer.dir, RECORDING_MARKER), { force: true });
      } catch (error) {
        this.#o.log.error({ bag: writer.dir, err: (error as Error).message }, 'recorder: could not close the bag cleanly; it will be repaired on the next start');
      } finally {
        this.#closingBags.delete(writer);
      }
    }
    this.#writer = undefined;
    this.#state = 'stopped';
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
    };
    if (this.#state === 'recording') return { state: 'running', details };
    if (this.#state === 'disk_full' || this.#state === 'failed') return { state: 'degraded', reason: this.#reason, details };
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

  metrics(): MetricFamily[] {
    const drops = this.drops();
    return [
      { name: 'auraison_recorder_messages_total', help: 'Messages written to bags, per topic.', type: 'counter', samples: [...this.#written].map(([topic, value]) => ({ labels: { topic }, value })) },
      { name: 'auraison_recorder_dropped_total', help: 'Messages the recorder dropped (queue overflow, disk backlog, disk full), per topic.', type: 'counter', samples: Object.entries(drops).map(([topic, value]) => ({ labels: { topic }, value })) },
      { name: 'auraison_recorder_pending_bytes', help: 'Bytes accepted but not yet written to disk.', type: 'gauge', samples: [{ value: this.#writer?.pendingBytes ?? 0 }] },
      { name: 'auraison_recorder_disk_full', help: '1 while recording is stopped for lack of disk space.', type: 'gauge', samples: [{ value: this.#state === 'disk_full' ? 1 : 0 }] },
      { name: 'auraison_recorder_failed', help: '1 while recording is stopped by an I/O error and waits to retry.', type: 'gauge', samples: [{ value: this.#state === 'failed' ? 1 : 0 }] },
    ];
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
    const writer = this.#writer;
    if (this.#state !== 'recording' || !writer) return this.#drop(msg.topic);
    // The disk is behind: dropping here keeps memory bounded; the drop is counted like any other.
    if (writer.pendingBytes > this.#o.settings.max_pending_bytes) return this.#drop(msg.topic);
    if (writer.full(msg.logTime)) {
      const next = this.#rotate(writer);
      if (!next) return this.#drop(msg.topic);
      next.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
    } else {
      writer.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
    }
    this.#written.set(msg.topic, (this.#written.get(msg.topic) ?? 0) + 1);
  };

  #drop(topic: string): void {
    this.#ownDrops.set(topic, (this.#ownDrops.get(topic) ?? 0) + 1);
  }

  #openBag(): void {
    const { bagsDir, settings, definitions, onSplitClosed } = this.#o;
    const dir = uniqueBagDir(bagsDir);
    mkdirSync(dir);
    try {
      writeFileSync(join(dir, RECORDING_MARKER), `${process.pid}\n`);
    } catch (error) {
      rmSync(dir, { recursive: true, force: true }); // no empty bag left behind per failed retry
      throw error;
    }
    const writer = new BagWriter({
      dir,
      io: this.#io,
      compression: settings.compression,
      compressor: this.#compressor,
      chunkSize: settings.chunk_size_bytes,
      chunkCrc: settings.chunk_crc,
      splitMaxBytes: settings.split_max_bytes,
      splitMaxDurationNs: BigInt(Math.round(settings.split_max_duration_s * 1e9)),
      schemaText: (type) => (definitions.has(type) ? definitions.schemaText(type) : undefined),
      typeHash: (type) => this.#typeHash(type),
      topicInfo: (topic) => {
        const type = this.#o.bus.topicType(topic);
        const qos = this.#o.bus.topicQos(topic);
        return type === undefined || qos === undefined ? undefined : { type, qos };
      },
      bagMaxSplits: settings.bag_max_splits,
      bagMaxDurationNs: BigInt(Math.round(settings.bag_max_duration_s * 1e9)),
      onSplitClosed: (file) => onSplitClosed?.(file, dir),
    });
    this.#writer = writer;
    this.#bags.push(dir);
    this.#o.log.info({ bag: dir }, 'recorder: recording');
  }

  /** RIHS01 hashes per type: each new bag declares its topics again, and a hash parses the type's .msg text. */
  #typeHash(type: string): string | undefined {
    if (!this.#typeHashes.has(type)) this.#typeHashes.set(type, typeDescriptionHash(this.#o.definitions, type));
    return this.#typeHashes.get(type);
  }

  /**
   * The bag is full (bag_max_splits, bag_max_duration_s): it is closed in the background and recording goes
   * on in a new one. Runs in the bus handler; a new bag that can't be made stops recording as any I/O
   * error does (the full one is still closed cleanly).
   */
  #rotate(full: BagWriter): BagWriter | undefined {
    full.setDrops(this.drops());
    const closing = full
      .close()
      .then(() => rmSync(join(full.dir, RECORDING_MARKER), { force: true }))
      .catch((error: unknown) => {
        // Left with its marker: repaired when recording resumes after an error, or at the next start.
        this.#abandoned.push(full.dir);
        this.#o.log.error({ bag: full.dir, err: (error as Error).message }, 'recorder: could not close a full bag cleanly; it will be repaired');
      })
      .finally(() => this.#closingBags.delete(full));
    this.#closingBags.set(full, closing);
    this.#writer = undefined;
    try {
      this.#openBag();
    } catch (error) {
      this.#enterStopped(error as NodeJS.ErrnoException);
      return undefined;
    }
    return this.#writer;
  }

  #flush(): Promise<void> {
    const writer = this.#writer;
    if (this.#flushing || this.#state !== 'recording' || !writer) return Promise.resolve();
    const flushing = this.#flushWriter(writer).finally(() => (this.#flushing = undefined));
    this.#flushing = flushing;
    return flushing;
  }

  async #flushWriter(writer: BagWriter): Promise<void> {
    try {
      writer.setDrops(this.drops());
      const wrote = writer.pendingBytes > 0;
      await writer.flush();
      // Data reached the disk: the next I/O error starts the backoff from its first step again.
      if (wrote) {
        this.#failures = 0;
        this.#unconfirmed = false;
      }
    } catch (error) {
      await this.#stopForError(error as NodeJS.ErrnoException);
    }
  }

  #now(): number {
    return this.#o.now ? this.#o.now() : Date.now();
  }

  /** Runs from a timer: it must never throw (an unhandled rejection would take the daemon down). */
  async #checkDisk(): Promise<void> {
    try {
      this.#forgetQuietTopics();
    } catch (error) {
      this.#o.log.error({ err: (error as Error).message }, 'recorder: letting go of quiet topics failed');
    }
    // One check at a time: a resume awaits the repair of the abandoned bag, and a second check meanwhile
    // would resume too, into a second new bag.
    if (this.#checking) return;
    this.#checking = true;
    try {
      if (this.#state === 'failed') {
        if (this.#now() >= this.#retryAt) await this.#resume();
        return;
      }
      // A resume that failed waits out its backoff, even when statfs says there is room (it said so before).
      if (this.#state === 'disk_full' && this.#now() < this.#retryAt) return;
      try {
        this.#space = await this.#io.freeSpace(this.#o.bagsDir);
      } catch {
        return; // statfs failing says nothing about space; the next write will tell
      }
      const short = this.#shortage(this.#space);
      if (this.#state === 'recording' && short) {
        await this.#stopForError(Object.assign(new Error(short), { code: 'ENOSPC' }));
      } else if (this.#state === 'disk_full' && !short) {
        await this.#resume();
      }
    } catch (error) {
      this.#o.log.error({ err: (error as Error).message }, 'recorder: disk check failed');
    } finally {
      this.#checking = false;
    }
  }

  async #stopForError(error: NodeJS.ErrnoException): Promise<void> {
    if (this.#state !== 'recording') return;
    this.#enterStopped(error);
    const writer = this.#writer;
    this.#writer = undefined;
    if (writer) {
      this.#abandoned.push(writer.dir);
      writer.setDrops(this.drops());
      try {
        await writer.abandon();
      } catch (abandonError) {
        this.#o.log.error({ bag: writer.dir, err: (abandonError as Error).message }, 'recorder: could not close the abandoned bag; it is repaired when recording resumes');
      }
    }
  }

  /** What is short on the disk for recording, or undefined when there is room. */
  #shortage(space: FreeSpace): string | undefined {
    const { min_free_bytes } = this.#o.settings;
    if (space.bytes < min_free_bytes) return `only ${space.bytes} bytes free, below recorder.min_free_bytes (${min_free_bytes})`;
    if (space.inodes < MIN_FREE_INODES) return `only ${space.inodes} inodes free, below ${MIN_FREE_INODES}`;
    return undefined;
  }

  /**
   * disk_full (waits for free space) or failed (waits out a backoff), with the reason in health. Called
   * while recording (it stops), or when a resume failed: then disk_full too waits out the backoff, since
   * statfs said there was room and there was not (min_free_bytes 0, no inodes, another writer).
   */
  #enterStopped(error: NodeJS.ErrnoException): void {
    const full = isFullDisk(error);
    const at = new Date(this.#now()).toISOString();
    // A resume that failed, or one whose first writes failed: statfs said there was room and there was not.
    const resuming = this.#state === 'disk_full' || this.#state === 'failed' || this.#unconfirmed;
    const { first = 1000, max = 60_000 } = this.#o.retryMs ?? {};
    const backoff = (): number => {
      const wait = Math.min(max, first * 2 ** this.#failures);
      this.#failures++;
      this.#retryAt = this.#now() + wait;
      return wait;
    };
    const what = `${error.code && !error.message.startsWith(error.code) ? `${error.code}: ` : ''}${error.message}`;
    if (full) {
      const need = `resumes once ${this.#o.settings.min_free_bytes} bytes and ${MIN_FREE_INODES} inodes are free`;
      if (!resuming || this.#state !== 'disk_full' || !this.#fullSince) this.#fullSince = { at, cause: what };
      const since = `disk full: recording stopped at ${this.#fullSince.at} (${this.#fullSince.cause})`;
      if (resuming) {
        const space = this.#space ? `, with ${this.#space.bytes} bytes and ${this.#space.inodes} inodes free` : '';
        const wait = backoff();
        this.#reason = `${since}; resuming failed at ${at} (${what}${space}); retrying in ${wait} ms (failure ${this.#failures} in a row), and ${need}`;
      } else {
        this.#retryAt = 0;
        this.#reason = `${since}; ${need}`;
      }
      this.#state = 'disk_full';
    } else {
      const wait = backoff();
      this.#state = 'failed';
      this.#reason = `recording failed at ${at}: ${what}; retrying in ${wait} ms (failure ${this.#failures} in a row)`;
    }
    this.#o.log.error({ err: error.message, code: error.code, bag: this.#writer?.dir }, `recorder: ${this.#reason}`);
  }

  async #resume(): Promise<void> {
    const was = this.#state;
    // A bag stays on the list until its repair works: one that failed for a full disk blocks the resume
    // (it is tried again after the backoff); one that failed otherwise is tried again at the next resume.
    const failed: string[] = [];
    while (this.#abandoned.length > 0) {
      const dir = this.#abandoned.shift()!;
      const error = await this.#repair(dir);
      if (!error) continue;
      failed.push(dir);
      if (isFullDisk(error as NodeJS.ErrnoException)) {
        this.#abandoned.unshift(...failed);
        this.#enterStopped(error as NodeJS.ErrnoException);
        return;
      }
    }
    this.#abandoned.push(...failed);
    try {
      this.#openBag();
    } catch (error) {
      this.#enterStopped(error as NodeJS.ErrnoException);
      return;
    }
    this.#state = 'recording';
    this.#reason = undefined;
    this.#fullSince = undefined;
    this.#unconfirmed = was === 'disk_full';
    this.#o.log.info(was === 'disk_full' ? 'recorder: disk space is back; recording resumed' : 'recorder: retrying after an I/O error; recording resumed');
  }

  /** At start: bags left open are repaired, and every bag loses the temporary files of writers killed mid-write. */
  async #repairLeftovers(): Promise<void> {
    for (const entry of readdirSync(this.#o.bagsDir, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue;
      const dir = join(this.#o.bagsDir, entry.name);
      try {
        const removed = sweepStaleTempFiles(dir);
        if (removed.length > 0) this.#o.log.warn({ bag: dir, removed }, 'recorder: removed temporary files left by writers that died before renaming them');
      } catch (error) {
        // Leftovers cost a few KiB and confuse no reader: recording goes on, and the next start tries again.
        this.#o.log.error({ bag: dir, err: (error as Error).message }, 'recorder: could not remove temporary files left in a bag');
      }
      if (existsSync(join(dir, RECORDING_MARKER))) await this.#repair(dir);
    }
  }

  /** Repairs a bag left open; returns the error when it could not be repaired (logged). */
  async #repair(dir: string): Promise<Error | undefined> {
    this.#repairing = dir;
    try {
      const report = await repairBag(dir, { io: this.#io, ownMetadata: true });
      rmSync(join(dir, RECORDING_MARKER), { force: true });
      const repaired = report.files.filter((f) => f.state === 'repaired');
      const backups = repaired.flatMap((f) => (f.backup ? [f.backup] : []));
      const dropped = repaired.reduce((n, f) => n + f.droppedBytes, 0);
      this.#o.log.warn({ bag: dir, repaired: repaired.map((f) => f.file), messages: report.messageCount, droppedBytes: dropped, backups }, 'recorder: repaired a bag left open');
      for (const f of report.files) if (f.messages > 0) this.#o.onSplitClosed?.(f.file, dir);
      return undefined;
    } catch (error) {
      // The bag keeps its marker: nothing in it was changed, and every start says so again until someone looks.
      this.#o.log.error({ bag: dir, err: (error as Error).message }, 'recorder: a bag left open could not be repaired and was left as it was; recording goes on in a new bag. Run `auraison-edge bag repair` on it for the details');
      return error as Error;
    } finally {
      this.#repairing = undefined;
    }
  }
}

function isFullDisk(error: NodeJS.ErrnoException): boolean {
  return error.code === 'ENOSPC' || error.code === 'EDQUOT';
}

/** `rosbag2_YYYY_MM_DD-HH_MM_SS`, as `ros2 bag record` names bags, with a suffix when taken. */
function uniqueBagDir(bagsDir: string): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  const base = `rosbag2_${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}-${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  let name = base;
  for (let i = 1; existsSync(join(bagsDir, name)); i++) name = `${base}_${i}`;
  return join(bagsDir, name);
}
