import { describe, expect, it } from 'vitest';
import { newTopicRecord, type TopicRecord } from './topic-record.ts';
import { releaseRing, reserveRing } from './topic-ring.ts';
import type { BusMessage } from './types.ts';

/** A topic record with only what the ring uses, and a publish that stores as the bus does. */
function topic(): TopicRecord {
  return newTopicRecord('/x', 't', { reliability: 'reliable', durability: 'volatile', depth: 10 });
}
const message = (n: number) => ({ data: new Uint8Array([n]) }) as unknown as BusMessage;
function publish(record: TopicRecord, n: number): void {
  record.ring[record.count & record.mask] = message(n);
  record.count++;
}
const held = (record: TopicRecord) =>
  record.ring
    .filter((m) => m !== undefined)
    .map((m) => m!.data[0])
    .sort((a, b) => a! - b!);

describe('topic ring', () => {
  it('clears what every reader has passed, and keeps what a lagging reader is still owed (its newest `depth`)', () => {
    const record = topic();
    const fast = { position: 0, depth: 4, order: 0, wake() {} };
    const slow = { position: 0, depth: 4, order: 1, wake() {} };
    record.cursors = [fast, slow];
    reserveRing(record, 4);
    expect(record.ring.length).toBe(16);
    for (let i = 0; i < 10; i++) publish(record, i);
    fast.position = 10;
    releaseRing(record);
    expect(held(record)).toEqual([6, 7, 8, 9]); // slow, at 0 with depth 4, can only be owed 6..9
    slow.position = 8;
    releaseRing(record);
    expect(held(record)).toEqual([8, 9]);
    slow.position = 10;
    releaseRing(record);
    expect(held(record)).toEqual([]);
  });

  it('never clears a slot that already holds a newer message', () => {
    const record = topic();
    const reader = { position: 0, depth: 16, order: 0, wake() {} };
    record.cursors = [reader];
    reserveRing(record, 16);
    for (let i = 0; i < 40; i++) publish(record, i); // wrapped twice: slots hold 24..39
    reader.position = 30;
    releaseRing(record);
    expect(held(record)).toEqual([30, 31, 32, 33, 34, 35, 36, 37, 38, 39]);
  });

  it("grows to a deeper reader's depth and keeps the messages it holds in their slots", () => {
    const record = topic();
    const reader = { position: 0, depth: 16, order: 0, wake() {} };
    record.cursors = [reader];
    reserveRing(record, 16);
    for (let i = 0; i < 20; i++) publish(record, i);
    reader.position = 12;
    releaseRing(record);
    reserveRing(record, 100);
    expect(record.ring.length).toBe(128);
    for (let seq = 12; seq < 20; seq++) expect(record.ring[seq & record.mask]!.data[0]).toBe(seq);
    expect(held(record)).toEqual([12, 13, 14, 15, 16, 17, 18, 19]);
  });

  it('holds nothing once its last reader has gone', () => {
    const record = topic();
    const reader = { position: 0, depth: 8, order: 0, wake() {} };
    record.cursors = [reader];
    reserveRing(record, 8);
    for (let i = 0; i < 5; i++) publish(record, i);
    record.cursors = [];
    releaseRing(record);
    expect(held(record)).toEqual([]);
  });
});
