import type { BusMessage } from '../bus/index.ts';

/**
 * What one buffered message costs besides its bytes: the bus's BusMessage object, its log time (a BigInt),
 * the Uint8Array and ArrayBuffer objects around its bytes, and the buffer's slot. Measured on Node 20 x64:
 * 290 bytes of heap per message, plus the allocator's share of each small backing store. Counted against
 * max_bytes, so that a flood of tiny messages is bounded too.
 */
export const MESSAGE_OVERHEAD_BYTES = 320;

/**
 * A message whose bytes are a view into a buffer this much larger is copied: bag play publishes views into
 * whole decompressed MCAP chunks (1 MiB and more), and a buffered /cmd_vel would keep its chunk alive while
 * max_bytes counts 48 bytes of it.
 */
const VIEW_SLACK_BYTES = 1024;

export interface SnapshotBufferOptions {
  /** Messages whose log time is this much older than the newest message's are let go. */
  maxDurationNs: bigint;
  /** Bytes held at most (each message's bytes plus MESSAGE_OVERHEAD_BYTES). */
  maxBytes: number;
  /** Whether a topic is latched (transient_local): its last message is kept whatever its age. */
  latched: (topic: string) => boolean;
}

export interface SnapshotBufferStats {
  messages: number;
  bytes: number;
  /** Log time of the oldest and newest message held, ns since the epoch (undefined when empty). */
  oldestNs: bigint | undefined;
  newestNs: bigint | undefined;
  /** Messages let go, by age or for room, since the buffer was made. */
  evicted: number;
  /** Messages never buffered: larger than maxBytes on their own. */
  tooLarge: number;
}

/**
 * The snapshot recorder's window of bus traffic: the messages of the last `maxDurationNs` (by log time),
 * at most `maxBytes` of them, the oldest let go first. It holds the BusMessage objects the bus delivered
 * (their bytes are never mutated after publish), so nothing is copied but a message that is a view into a
 * much larger buffer (VIEW_SLACK_BYTES). `add` is O(1) amortized: it runs in the bus handler.
 *
 * A latched topic's last message (a /map or /tf_static published once) stays when it leaves the window: a
 * snapshot without it is hard to use. It still counts against `maxBytes`, and goes when only such messages
 * are left and they pass it, so memory stays bounded whatever is published.
 *
 * The window follows the log time of the messages as they come: a message more than the window *newer*
 * than the one arriving was logged before the wall clock stepped back, and is let go like an old one, so a
 * snapshot never mixes two clocks' worth of messages for long.
 */
export class SnapshotBuffer {
  readonly #maxBytes: number;
  readonly #latched: (topic: string) => boolean;
  readonly #maxDurationNs: bigint;
  /**
   * Messages in arrival order: `#ring[#head]` is the oldest. Slots before `#head` are free (compacted now and then).
   */
  #ring: (BusMessage | undefined)[] = [];
  #head = 0;
  #bytes = 0;
  /** The last message of each latched topic, in the window or not. */
  #lastLatched = new Map<string, BusMessage>();
  /** Latched topics' last messages that left the window, kept. */
  #kept = new Map<string, BusMessage>();
  #evicted = 0;
  #tooLarge = 0;
  /**
   * Messages held that came with a log time older than the one before them, in arrival order (from `#descentsHead`).
   */
  #descents: (BusMessage | undefined)[] = [];
  #descentsHead = 0;

  constructor(options: SnapshotBufferOptions) {
    const { maxBytes, latched, maxDurationNs } = options;
    this.#maxBytes = maxBytes;
    this.#latched = latched;
    this.#maxDurationNs = maxDurationNs;
  }

  get size(): number {
    return this.#ring.length - this.#head + this.#kept.size;
  }

  /** The oldest and newest log times are those of the first and last message to arrive (and the latched ones kept). */
  stats(): SnapshotBufferStats {
    let oldest = this.#head < this.#ring.length ? this.#ring[this.#head]!.logTime : undefined;
    let newest = this.#head < this.#ring.length ? this.#ring.at(-1)!.logTime : undefined;
    for (const m of this.#kept.values()) {
      if (oldest === undefined || m.logTime < oldest) oldest = m.logTime;
      if (newest === undefined || m.logTime > newest) newest = m.logTime;
    }
    return {
      messages: this.size,
      bytes: this.#bytes,
      oldestNs: oldest,
      newestNs: newest,
      evicted: this.#evicted,
      tooLarge: this.#tooLarge,
    };
  }

  /** Bytes held, bookkeeping included (cheap: for health and metrics). */
  get bytes(): number {
    return this.#bytes;
  }

  get evicted(): number {
    return this.#evicted;
  }

  /**
   * Buffers `msg`; false when it alone is larger than maxBytes: it is not buffered (making room for it would
   * let the whole window go, and then it too), and a latched topic's older message goes (it is not its last).
   */
  add(msg: BusMessage): boolean {
    if (cost(msg) > this.#maxBytes) {
      this.#tooLarge++;
      if (this.#latched(msg.topic)) {
        this.#lastLatched.delete(msg.topic);
        const old = this.#kept.get(msg.topic);
        if (old) {
          this.#kept.delete(msg.topic);
          this.#release(old);
        }
      }
      return false;
    }
    if (msg.data.buffer.byteLength - msg.data.byteLength > VIEW_SLACK_BYTES) msg = { ...msg, data: msg.data.slice() };
    if (this.#latched(msg.topic)) {
      this.#lastLatched.set(msg.topic, msg);
      // The one kept outside the window is no longer the topic's last message.
      const old = this.#kept.get(msg.topic);
      if (old) {
        this.#kept.delete(msg.topic);
        this.#release(old);
      }
    }
    const last = this.#head < this.#ring.length ? this.#ring[this.#ring.length - 1]! : undefined;
    if (last && msg.logTime < last.logTime) this.#descents.push(msg);
    this.#ring.push(msg);
    this.#bytes += cost(msg);
    const maxDurationNs = this.#maxDurationNs;
    const maxBytes = this.#maxBytes;
    const from = msg.logTime - maxDurationNs;
    const to = msg.logTime + maxDurationNs;
    while (this.#head < this.#ring.length) {
      const oldest = this.#ring[this.#head]!;
      if (this.#bytes <= maxBytes && oldest.logTime >= from && oldest.logTime <= to) break;
      this.#shift();
    }
    // Only latched topics' last messages are left, and still too many bytes: the oldest of them go.
    while (this.#bytes > maxBytes && this.#kept.size > 0) {
      let oldest: BusMessage | undefined;
      for (const m of this.#kept.values()) if (!oldest || m.logTime < oldest.logTime) oldest = m;
      this.#kept.delete(oldest!.topic);
      this.#lastLatched.delete(oldest!.topic);
      this.#release(oldest!);
    }
    if (this.#head >= 1024 && this.#head * 2 >= this.#ring.length) {
      this.#ring = this.#ring.slice(this.#head);
      this.#head = 0;
    }
    if (this.#descentsHead >= 1024 && this.#descentsHead * 2 >= this.#descents.length) {
      this.#descents = this.#descents.slice(this.#descentsHead);
      this.#descentsHead = 0;
    }
    return true;
  }

  /**
   * What the buffer holds now, in log-time order (a copy of the list; the messages themselves are shared).
   * The buffer goes on filling and letting go meanwhile; the caller may drop each entry once written.
   */
  contents(): BusMessage[] {
    const front = this.#ring[this.#head];
    // A latched message kept out of the window goes in as a recorder started at the window's start would
    // have it (ROS hands a late subscriber the latched message then): at the window's first log time, its
    // publish time its own. Else a /tf_static from bringup hours ago makes the bag span those hours, and
    // `bag play` waits them out before the window.
    const kept = [...this.#kept.values()]
      .map((m) => (front && m.logTime < front.logTime ? { ...m, logTime: front.logTime } : m))
      .sort(byLogTime);
    const out = kept.concat(this.#ring.slice(this.#head) as BusMessage[]);
    // In arrival order, which is log-time order unless a message came out of order (or a kept one is newer
    // than the window's first): sorting 600,000 messages in order already costs 30 ms of the event loop.
    const inOrder =
      this.#descentsHead === this.#descents.length &&
      (kept.length === 0 || !front || kept.at(-1)!.logTime <= front.logTime);
    return inOrder ? out : out.sort(byLogTime);
  }

  /** Lets everything go (the component stops). */
  clear(): void {
    this.#ring = [];
    this.#head = 0;
    this.#descents = [];
    this.#descentsHead = 0;
    this.#bytes = 0;
    this.#lastLatched.clear();
    this.#kept.clear();
  }

  #shift(): void {
    const msg = this.#ring[this.#head]!;
    this.#ring[this.#head++] = undefined;
    if (this.#descents[this.#descentsHead] === msg) this.#descents[this.#descentsHead++] = undefined;
    if (this.#lastLatched.get(msg.topic) === msg) this.#kept.set(msg.topic, msg);
    else this.#release(msg);
  }

  #release(msg: BusMessage): void {
    this.#bytes -= cost(msg);
    this.#evicted++;
  }
}

function byLogTime(a: BusMessage, b: BusMessage): number {
  return a.logTime < b.logTime ? -1 : a.logTime > b.logTime ? 1 : 0;
}

function cost(msg: BusMessage): number {
  return msg.data.byteLength + MESSAGE_OVERHEAD_BYTES;
}
