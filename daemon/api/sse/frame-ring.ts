/** A recent record, already formatted as an SSE frame. */
export interface CachedFrame {
  seq: number;
  kind: string;
  frame: string;
}

/**
 * The last `capacity` journal records as SSE frames, shared by every client: a live client is fed from
 * here (formatted once, whatever the number of clients), a client replaying older records reads the
 * journal. Its memory is bounded by `capacity` frames of at most `maxFrameBytes` each.
 */
export class FrameRing {
  #slots: (CachedFrame | undefined)[];
  #maxFrameBytes: number;

  constructor(options: { capacity?: number; maxFrameBytes?: number } = {}) {
    const { capacity = 2048, maxFrameBytes = 64 * 1024 } = options;
    this.#slots = new Array<CachedFrame | undefined>(capacity).fill(undefined);
    this.#maxFrameBytes = maxFrameBytes;
  }

  put(entry: CachedFrame): void {
    const i = entry.seq % this.#slots.length;
    // A frame too big to keep leaves its slot empty, so readers fall back to the journal for it.
    this.#slots[i] = entry.frame.length <= this.#maxFrameBytes ? entry : undefined;
  }

  get(seq: number): CachedFrame | undefined {
    const entry = this.#slots[seq % this.#slots.length];
    return entry?.seq === seq ? entry : undefined;
  }
}
