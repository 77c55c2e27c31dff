import type { Journal } from '../../contract/index.ts';
import type { CachedFrame } from './frame-ring.ts';
import { recordFrame } from './sse-frame.ts';

/** A run of journal records from one aligned start seq, formatted once as SSE frames. */
interface Slice {
  frames: CachedFrame[];
  bytes: number;
}

/**
 * Reads the journal for replaying SSE clients in slices of `sliceRecords` records that start at aligned
 * seqs, and keeps the last full slices up to `maxBytes`: clients replaying the same stretch (a page reload
 * on many screens, 500 clients asking for last_event_id=0) share one read and one JSON format per record,
 * instead of each reading the journal whole. Its memory is bounded by `maxBytes` plus one slice.
 */
export class ReplayReader {
  #journal: Journal;
  #sliceRecords: number;
  #maxBytes: number;
  /** Insertion order is recency order: a hit is moved to the end, the oldest goes first. */
  #slices = new Map<number, Slice>();
  #bytes = 0;
  /** Journal reads made, for tests and metrics: one per slice not already held. */
  reads = 0;

  constructor(options: { journal: Journal; sliceRecords?: number; maxBytes?: number }) {
    const { journal, sliceRecords = 64, maxBytes = 8 * 1024 * 1024 } = options;
    this.#journal = journal;
    this.#sliceRecords = sliceRecords;
    this.#maxBytes = maxBytes;
  }

  get sliceRecords(): number {
    return this.#sliceRecords;
  }

  /** Bytes of frames held for sharing. */
  get heldBytes(): number {
    return this.#bytes;
  }

  /**
   * Up to one slice of frames from `fromSeq` on, in seq order (the first may be past `fromSeq`: records
   * no longer in the journal); empty when the journal holds nothing at or after it.
   */
  read(fromSeq: number): CachedFrame[] {
    const start = fromSeq - ((fromSeq - 1) % this.#sliceRecords);
    const frames = this.#slice(start).frames;
    // A slice holds sliceRecords records from `start` on, so one that reaches fromSeq holds what follows it.
    let i = 0;
    while (i < frames.length && frames[i]!.seq < fromSeq) i++;
    return i === 0 ? frames : frames.slice(i);
  }

  #slice(start: number): Slice {
    const held = this.#slices.get(start);
    if (held) {
      this.#slices.delete(start);
      this.#slices.set(start, held);
      return held;
    }
    this.reads++;
    const records = this.#journal.read(start, this.#sliceRecords);
    const frames = records.map((r) => ({ seq: r.seq, kind: r.kind, frame: recordFrame(r) }));
    const slice = { frames, bytes: frames.reduce((n, f) => n + f.frame.length, 0) };
    // Only a full slice is final: a short one is the journal's end, which grows.
    if (frames.length === this.#sliceRecords && slice.bytes <= this.#maxBytes) {
      this.#slices.set(start, slice);
      this.#bytes += slice.bytes;
      for (const [key, old] of this.#slices) {
        if (this.#bytes <= this.#maxBytes) break;
        this.#slices.delete(key);
        this.#bytes -= old.bytes;
      }
    }
    return slice;
  }
}
