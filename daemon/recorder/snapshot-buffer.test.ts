import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../bus/types.ts';
import { MESSAGE_OVERHEAD_BYTES, SnapshotBuffer } from './snapshot-buffer.ts';

const S = 1_000_000_000n;
const msg = (topic: string, logTime: bigint, bytes = 8): BusMessage => ({
  topic,
  type: 'std_msgs/msg/String',
  data: new Uint8Array(bytes),
  logTime,
  publishTime: logTime,
  source: 'test',
});
const times = (b: SnapshotBuffer) => b.contents().map((m) => [m.topic, Number(m.logTime / S)]);

describe('SnapshotBuffer', () => {
  it('keeps the messages of the last max_duration by log time, the newest included, and counts what it lets go', () => {
    const b = new SnapshotBuffer({ maxDurationNs: 3n * S, maxBytes: 1e9, latched: () => false });
    for (let t = 0n; t <= 10n; t++) b.add(msg('/odom', 100n * S + t * S));
    expect(times(b)).toEqual([107, 108, 109, 110].map((t) => ['/odom', t]));
    expect(b.stats()).toMatchObject({
      messages: 4,
      evicted: 7,
      oldestNs: 107n * S,
      newestNs: 110n * S,
      bytes: 4 * (8 + MESSAGE_OVERHEAD_BYTES),
    });
  });

  it('keeps at most max_bytes, bookkeeping included, the oldest going first, whatever the rate', () => {
    const each = 100 + MESSAGE_OVERHEAD_BYTES;
    const b = new SnapshotBuffer({ maxDurationNs: 3600n * S, maxBytes: 3 * each, latched: () => false });
    for (let i = 0n; i < 10n; i++) b.add(msg('/scan', S + i, 100));
    expect(b.contents().map((m) => Number(m.logTime - S))).toEqual([7, 8, 9]);
    expect(b.bytes).toBe(3 * each);
    // 100,000 empty messages at one instant: the bookkeeping alone bounds them.
    const tiny = new SnapshotBuffer({ maxDurationNs: 3600n * S, maxBytes: 64 * 1024, latched: () => false });
    for (let i = 0; i < 100_000; i++) tiny.add(msg('/flood', S, 0));
    expect(tiny.bytes).toBeLessThanOrEqual(64 * 1024);
    expect(tiny.size).toBe(Math.floor((64 * 1024) / MESSAGE_OVERHEAD_BYTES));
    expect(tiny.evicted).toBe(100_000 - tiny.size);
  });

  it("keeps a latched topic's last message out of the window, lets the older one go when a newer comes, and still bounds the bytes", () => {
    const latched = (t: string) => t === '/map' || t === '/tf_static';
    const b = new SnapshotBuffer({ maxDurationNs: 2n * S, maxBytes: 1e9, latched });
    b.add(msg('/tf_static', 0n));
    b.add(msg('/map', 1n * S));
    b.add(msg('/map', 2n * S)); // the map's last message from now on
    for (let t = 3n; t <= 10n; t++) b.add(msg('/odom', t * S));
    // Kept messages come at the window's start (as a recorder started then would have them).
    expect(times(b)).toEqual([
      ['/tf_static', 8],
      ['/map', 8],
      ['/odom', 8],
      ['/odom', 9],
      ['/odom', 10],
    ]);
    b.add(msg('/map', 11n * S)); // a new map: the one kept outside the window goes
    expect(times(b)).toEqual([
      ['/tf_static', 9],
      ['/odom', 9],
      ['/odom', 10],
      ['/map', 11],
    ]);
    expect(b.stats()).toMatchObject({ messages: 4, oldestNs: 0n, newestNs: 11n * S });

    // Latched messages count against max_bytes too: the window's messages go first, and when the latched
    // ones alone pass it, the oldest of them.
    const unit = 1000 + MESSAGE_OVERHEAD_BYTES;
    const small = new SnapshotBuffer({ maxDurationNs: S, maxBytes: 2.5 * unit, latched: (t) => t !== '/odom' });
    small.add(msg('/tf_static', 0n, 1000));
    small.add(msg('/odom', 1n, 1000));
    small.add(msg('/map', 2n, 1000));
    expect(times(small)).toEqual([
      ['/tf_static', 0],
      ['/map', 0],
    ]);
    small.add(msg('/robot_description', 3n, 1000));
    expect(small.contents().map((m) => m.topic)).toEqual(['/map', '/robot_description']);
    expect(small.bytes).toBe(2 * unit);
  });

  it('gives its messages in log-time order when they came out of order, the very objects the bus delivered', () => {
    const b = new SnapshotBuffer({ maxDurationNs: 10n * S, maxBytes: 1e9, latched: () => false });
    const sent = [msg('/a', 3n * S), msg('/b', 1n * S), msg('/a', 2n * S), msg('/b', 2n * S), msg('/a', 4n * S)];
    for (const m of sent) b.add(m);
    const got = b.contents();
    expect(got.map((m) => Number(m.logTime / S))).toEqual([1, 2, 2, 3, 4]);
    expect(got[1]).toBe(sent[2]); // equal times keep their arrival order; nothing is copied
    expect(got[0]!.data).toBe(sent[1]!.data);

    // A latched message kept out of the window can be newer than what is left in it (it came before a late one).
    const unit = 8 + MESSAGE_OVERHEAD_BYTES;
    const k = new SnapshotBuffer({ maxDurationNs: 10n * S, maxBytes: 2 * unit, latched: (t) => t === '/map' });
    for (const m of [msg('/map', 5n * S), msg('/odom', 3n * S), msg('/odom', 4n * S)]) k.add(m);
    expect(times(k)).toEqual([
      ['/odom', 4],
      ['/map', 5],
    ]);
  });

  it('lets go of messages logged before the wall clock stepped back', () => {
    const b = new SnapshotBuffer({ maxDurationNs: 5n * S, maxBytes: 1e9, latched: () => false });
    for (let t = 1000n; t < 1003n; t++) b.add(msg('/odom', t * S));
    b.add(msg('/odom', 10n * S)); // the clock stepped back by 990 s
    b.add(msg('/odom', 11n * S));
    expect(times(b)).toEqual([
      ['/odom', 10],
      ['/odom', 11],
    ]);
  });
});
