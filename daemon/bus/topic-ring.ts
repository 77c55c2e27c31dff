import type { RingReader, TopicRecord } from './topic-record.ts';

/**
 * A topic's ring of its most recent messages, shared by the topic's cursor subscribers (exact topic,
 * drop-oldest or keep-latest): a publish stores a message once, however many of them read it, and each
 * keeps only its own position. The newest `depth` messages a subscriber may still be owed are always there:
 * the ring starts at MIN_RING slots and doubles, up to the power of two that holds the deepest subscriber's
 * depth (`ringLimit`), only when a publish would overwrite a message someone is still owed. So a topic
 * whose readers keep up costs MIN_RING slots whatever their depth (a recorder subscribes to every topic
 * with depth 10,000, and a ring of 16,384 slots per topic cost 130 KiB before any message).
 *
 * A publish wakes only the readers that had caught up (each one once, however many messages follow
 * before it runs, and in the order they subscribed), so in a burst it costs one store whatever the number
 * of readers.
 *
 * Slots every cursor subscriber has passed are cleared, so the ring keeps no message alive that nobody
 * will read (a topic of camera images must not pin the last thousand frames).
 */

/** The largest depth a cursor subscriber may have; a deeper queue is a subscriber queue of its own. */
export const MAX_RING_DEPTH = 1 << 16;

/** Slots a ring starts with. */
export const MIN_RING = 16;

/** Capacity for `depth`: the smallest power of two >= depth, at least MIN_RING. */
function capacityFor(depth: number): number {
  let capacity = MIN_RING;
  while (capacity < depth) capacity *= 2;
  return capacity;
}

/** A cursor subscriber of `depth` joins: the ring may grow to hold its depth, and starts small. */
export function admitReader(record: TopicRecord, depth: number): void {
  record.ringLimit = Math.max(record.ringLimit, capacityFor(depth));
  reserveRing(record, MIN_RING);
}

/** A cursor subscriber left: the ring grows no further than the deepest of those left need (it never shrinks). */
export function fitRingLimit(record: TopicRecord): void {
  let limit = 0;
  for (const reader of record.cursors) limit = Math.max(limit, capacityFor(reader.depth));
  record.ringLimit = limit;
}

/**
 * Called by a publish when the ring is full of messages not yet released: releases what every reader has
 * passed, and doubles the ring if the slot the publish takes is still owed to someone.
 */
export function growRing(record: TopicRecord): void {
  releaseRing(record);
  if (record.count - record.released >= record.ring.length)
    reserveRing(record, Math.min(record.ring.length * 2, record.ringLimit));
}

/** Makes `record`'s ring hold at least `depth` messages, keeping what it holds. */
export function reserveRing(record: TopicRecord, depth: number): void {
  const old = record.ring;
  if (old.length >= depth) return;
  const capacity = capacityFor(depth);
  const ring: TopicRecord['ring'] = new Array(capacity).fill(undefined);
  const mask = capacity - 1;
  const oldMask = old.length - 1;
  for (let seq = Math.max(record.released, record.count - old.length); seq < record.count; seq++)
    ring[seq & mask] = old[seq & oldMask];
  record.ring = ring;
  record.mask = mask;
}

/**
 * Clears the slots no cursor subscriber will read again: those before every subscriber's position (a
 * subscriber more than its depth behind is owed only its last `depth`).
 */
export function releaseRing(record: TopicRecord): void {
  const count = record.count;
  let keepFrom = count;
  for (const sub of record.cursors) keepFrom = Math.min(keepFrom, Math.max(sub.position, count - sub.depth));
  const ring = record.ring;
  const mask = record.mask;
  // A slot more than one ring behind already holds a newer message: never clear below count - capacity.
  for (let seq = Math.max(record.released, count - ring.length); seq < keepFrom; seq++) ring[seq & mask] = undefined;
  if (keepFrom > record.released) record.released = keepFrom;
}

/**
 * Adds a reader that has caught up to those the next publish wakes, keeping them in subscription order (as
 * a queued subscriber is offered each message), so which subscriber runs first never depends on which
 * went idle first.
 */
export function addSleeper(record: TopicRecord, reader: RingReader): void {
  const sleepers = record.sleepers;
  let i = sleepers.length;
  while (i > 0 && sleepers[i - 1]!.order > reader.order) i--;
  sleepers.splice(i, 0, reader);
}

/** Wakes the ring's idle readers: a message has just been stored for them. */
export function wakeSleepers(record: TopicRecord): void {
  const sleepers = record.sleepers;
  record.sleepers = [];
  for (const reader of sleepers) reader.wake();
}
