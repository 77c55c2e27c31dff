import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { BusMessage } from '../bus/index.ts';
import type { ClosedSplit } from '../contract/index.ts';
import type { BagWriter } from './bag-writer.ts';
import { loadCompressor, type Compressor } from './chunk-compression.ts';
import type { RecorderBags } from './recorder-bags.ts';
import { isFullDisk, type RecordingState, type RecordingStatus } from './recording-state.ts';
import type { SegmentIO } from './segment-io.ts';
import { errorText } from '../util/index.ts';

export interface RecordingWriterOptions {
  log: Logger;
  bagsDir: string;
  io: SegmentIO;
  bags: RecorderBags;
  recording: RecordingState;
  /** recorder.compression. */
  compression: Parameters<typeof loadCompressor>[0];
  /** recorder.max_pending_bytes: past it a message is dropped (the disk is behind). */
  maxPendingBytes: number;
  /** The recorder's drops per topic, written into a bag's metadata.yaml when it flushes or closes. */
  drops: () => Record<string, number>;
}

/**
 * The bag being written, through disk faults: it opens a bag, rotates to a new one when the bag is full,
 * flushes, stops recording on a full disk or an I/O error and resumes into a new bag once it can (see
 * RecordingState for when). Once close() has returned nothing of it runs: a disk check or flush under way is
 * waited for, and each looks, after each wait, whether a close came meanwhile before it stops or resumes.
 */
export class RecordingWriter {
  readonly #log: Logger;
  readonly #bagsDir: string;
  readonly #io: SegmentIO;
  readonly #bags: RecorderBags;
  readonly #recording: RecordingState;
  readonly #compression: RecordingWriterOptions['compression'];
  readonly #maxPendingBytes: number;
  readonly #drops: () => Record<string, number>;
  #writer: BagWriter | undefined;
  #compressor: Compressor | undefined;
  /** The flush running now (the periodic one, or a caller's). */
  #flushing: Promise<void> | undefined;
  /** The disk check running now: one at a time, and close() waits for it. */
  #checking: Promise<void> | undefined;
  /** Set by quiesce(): a disk check that was waiting neither resumes nor stops recording after that. */
  #closing = false;

  constructor(options: RecordingWriterOptions) {
    const { log, bagsDir, io, bags, recording, compression, maxPendingBytes, drops } = options;
    this.#log = log;
    this.#bagsDir = bagsDir;
    this.#io = io;
    this.#bags = bags;
    this.#recording = recording;
    this.#compression = compression;
    this.#maxPendingBytes = maxPendingBytes;
    this.#drops = drops;
  }

  /** The bag being written now. */
  get dir(): string | undefined {
    return this.#writer?.dir;
  }

  get currentFile(): string | undefined {
    return this.#writer?.currentFile;
  }

  get activeFiles(): readonly string[] {
    return this.#writer?.activeFiles ?? [];
  }

  get pendingBytes(): number {
    return this.#writer?.pendingBytes ?? 0;
  }

  /** Whether the split being written has a message on `topic`. */
  hasChannel(topic: string): boolean {
    return this.#writer?.hasChannel(topic) ?? false;
  }

  /**
   * Opens a bag, or, on a disk already full (below `min_free_bytes` or MIN_FREE_INODES, a bag it can't
   * create, a bag left open whose repair needs room), stays stopped in `disk_full`: the daemon (and the
   * retention that frees space) must come up on a full disk, and the disk check resumes recording once
   * there is room, as after a disk that filled while recording.
   */
  async open(): Promise<void> {
    this.#closing = false;
    let full: { error: NodeJS.ErrnoException; bag?: string } | undefined;
    try {
      mkdirSync(this.#bagsDir, { recursive: true });
      full = await this.#bags.repairLeftovers();
    } catch (error) {
      if (!isFullDisk(error as NodeJS.ErrnoException)) throw error;
      full = { error: error as NodeJS.ErrnoException };
    }
    this.#compressor = await loadCompressor(this.#compression);
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
  }

  /** Writes a message; false when it is dropped (not recording, the disk behind, a new bag that can't be made). */
  write(msg: BusMessage): boolean {
    const writer = this.#writer;
    if (this.#recording.status !== 'recording' || !writer) return false;
    // The disk is behind: dropping here keeps memory bounded; the drop is counted like any other.
    if (writer.pendingBytes > this.#maxPendingBytes) return false;
    if (writer.full(msg.logTime)) {
      const next = this.#rotate(writer);
      if (!next) return false;
      next.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
    } else {
      writer.write(msg.topic, msg.logTime, msg.publishTime, msg.data);
    }
    return true;
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

  /** No disk check or flush acts after this resolves: those under way end first. */
  async quiesce(): Promise<void> {
    this.#closing = true;
    // A check or flush that was waiting on the disk ends first: either would still abandon this bag, or
    // open a new one after this returned.
    await this.#checking;
    while (this.#flushing) await this.#flushing;
  }

  /** After quiesce(): the bag is closed with `drops` in its metadata.yaml, and nothing compresses any more. */
  async close(drops: Record<string, number>): Promise<void> {
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

  /** Waits for a flush already running (it may have cut its chunk before the caller's last messages), then flushes. */
  async flushNow(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    await this.flush();
  }

  /** The periodic flush: none when one runs already. */
  flush(): Promise<void> {
    const writer = this.#writer;
    if (this.#flushing || this.#recording.status !== 'recording' || !writer) return Promise.resolve();
    const flushing = this.#flushWriter(writer).finally(() => (this.#flushing = undefined));
    this.#flushing = flushing;
    return flushing;
  }

  async #flushWriter(writer: BagWriter): Promise<void> {
    try {
      writer.setDrops(this.#drops());
      const wrote = writer.pendingBytes > 0;
      await writer.flush();
      if (wrote) this.#recording.confirmed();
    } catch (error) {
      await this.#stopForError(error as NodeJS.ErrnoException);
    }
  }

  /**
   * Closes the split being written (see Recorder.split). Call it once the messages already on the bus are
   * delivered. Undefined when nothing was recorded since the last split.
   */
  async split(): Promise<ClosedSplit | undefined> {
    this.refuseUnlessRecording();
    const writer = this.#writer!;
    let closed;
    try {
      closed = await writer.splitNow();
    } catch (error) {
      // The close failed as a write does: the flush that meets writer.error stops recording with the reason.
      void this.flush();
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

  /** Throws the 409 of a split asked for while not recording. */
  refuseUnlessRecording(): void {
    const status: RecordingStatus = this.#recording.status;
    if (status === 'recording' && this.#writer) return;
    const why = status === 'disk_full' || status === 'failed' ? `${status}: ${this.#recording.reason}` : status;
    throw Object.assign(new Error(`the recorder is not recording (${why}): there is no split to close`), {
      statusCode: 409,
      code: 'not_recording',
    });
  }

  /**
   * The bag is full (bag_max_splits, bag_max_duration_s): it is closed in the background and recording goes
   * on in a new one. Runs in the bus handler; a new bag that can't be made stops recording as any I/O
   * error does (the full one is still closed cleanly).
   */
  #rotate(full: BagWriter): BagWriter | undefined {
    full.setDrops(this.#drops());
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

  /** The disk check; one at a time: a resume awaits the repair of the abandoned bag, and a second check meanwhile
   * would resume too, into a second new bag. */
  checkDisk(): Promise<void> {
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
      if (this.#closing) return;
      const short = this.#recording.shortage(this.#recording.space);
      if (this.#recording.status === 'recording' && short) {
        await this.#stopForError(Object.assign(new Error(short), { code: 'ENOSPC' }), true);
      } else if (this.#recording.status === 'disk_full' && !short) {
        await this.#resume();
      }
    } catch (error) {
      this.#log.error({ err: errorText(error) }, 'recorder: disk check failed');
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
      writer.setDrops(this.#drops());
      await (shortage ? this.#bags.closeOrAbandon(writer) : this.#bags.abandon(writer));
    }
  }

  /** `bag`: the one being written, or the abandoned one whose repair blocked a resume. */
  #enterStopped(error: NodeJS.ErrnoException, bag = this.#writer?.dir): void {
    const reason = this.#recording.stopped(error);
    this.#log.error({ err: error.message, code: error.code, bag }, `recorder: ${reason}`);
  }

  async #resume(): Promise<void> {
    const blocked = await this.#bags.repairAbandoned(() => this.#closing);
    // Stopped while repairing: the next start repairs what is left, and opens the bag.
    if (this.#closing) return;
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
