import { crc32 } from '../../daemon/util/index.ts';

export interface EchoLedgerOptions {
  /** Fingerprints kept per topic: the newest are kept, the oldest forgotten. */
  capacity?: number;
  /** How long a volatile topic's sent message may take to come back, in ms. */
  volatileMs?: number;
  /** The clock, in ms (a parameter for tests). */
  now?: () => number;
}

interface Sent {
  key: string;
  at: number;
}

/**
 * Recognises the daemon's own messages when a raw ROS subscription hands them back. rclnodejs 2.2.0 takes a raw
 * message with `rcl_take_serialized_message` and no MessageInfo (lib/node.js, rcl_subscription_bindings.cpp), so the
 * publisher's GID is not there to compare, and rclnodejs exposes no ignore_local_publications option. Instead each
 * message the daemon publishes to a topic is noted by its length and CRC-32, and the first message of the same bytes
 * heard back on that topic consumes the note. A note is consumed once, because rmw delivers one copy of each
 * publication to each matched subscription.
 *
 * A volatile topic's notes expire after `volatileMs`: a note whose copy was lost (best effort) must not eat a later
 * message of another node. A transient_local topic's notes do not expire, since our own subscription, opened later,
 * is handed the daemon's cached samples; the capacity bounds them (at least the topic's history depth).
 * Another node's message with exactly the bytes the daemon just sent, arriving before the daemon's own copy, is taken
 * for the echo and the echo passes instead: the bus then holds the same bytes once, as it would have.
 */
export class EchoLedger {
  #capacity: number;
  #volatileMs: number;
  #now: () => number;
  #topics = new Map<string, { sent: Sent[]; latched: boolean }>();

  constructor(options: EchoLedgerOptions = {}) {
    const { capacity = 256, volatileMs = 5000, now = Date.now } = options;
    this.#capacity = capacity;
    this.#volatileMs = volatileMs;
    this.#now = now;
  }

  /** Starts noting `topic`; `latched` for a transient_local publisher, whose notes wait however long. */
  track(topic: string, { latched, depth }: { latched: boolean; depth: number }): void {
    this.#topics.set(topic, { sent: [], latched });
    if (latched && depth > this.#capacity) this.#capacity = depth;
  }

  forget(topic: string): void {
    this.#topics.delete(topic);
  }

  /** Notes one message the daemon published to `topic`. */
  sent(topic: string, bytes: Uint8Array): void {
    const entry = this.#topics.get(topic);
    if (entry === undefined) return;
    entry.sent.push({ key: fingerprint(bytes), at: this.#now() });
    if (entry.sent.length > this.#capacity) entry.sent.shift();
  }

  /** True when `bytes` heard on `topic` are the daemon's own message coming back; consumes its note. */
  isEcho(topic: string, bytes: Uint8Array): boolean {
    const entry = this.#topics.get(topic);
    if (entry === undefined || entry.sent.length === 0) return false;
    if (!entry.latched) {
      const oldest = this.#now() - this.#volatileMs;
      while (entry.sent.length > 0 && entry.sent[0]!.at < oldest) entry.sent.shift();
    }
    const key = fingerprint(bytes);
    const at = entry.sent.findIndex((s) => s.key === key);
    if (at < 0) return false;
    entry.sent.splice(at, 1);
    return true;
  }
}

function fingerprint(bytes: Uint8Array): string {
  return `${bytes.byteLength}:${crc32(bytes)}`;
}
