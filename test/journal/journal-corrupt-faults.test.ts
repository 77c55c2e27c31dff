import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { decodeFrame } from '../../daemon/journal/frame.ts';
import { tempDir } from '../helpers/cli.ts';

/**
 * Recovery moves damaged bytes aside to `<segment>.corrupt-<offset>` files so nothing that might matter is
 * lost; they must not pile up for the life of the robot. They go when retention deletes their segment.
 */

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});

const asides = (dir: string) => readdirSync(dir).filter((f) => f.includes('.corrupt-'));

describe('a journal with damage moved aside', () => {
  it("deletes a segment's .corrupt-* files with the segment, and keeps those of the segments it keeps", async () => {
    const t = tempDir('journal-corrupt-');
    cleanups.push(t.cleanup);
    let journal = new DurableJournal({ dir: t.path, segmentBytes: 1024, fsync: 'never' });
    for (let i = 0; i < 60; i++) await journal.append('agent_event', { i, pad: 'x'.repeat(60) });
    await journal.close();
    const segments = readdirSync(t.path)
      .filter((f) => f.endsWith('.log'))
      .sort();
    expect(segments.length).toBeGreaterThan(3);
    // A flipped bit in the middle of the first and of the third segment.
    for (const file of [segments[0]!, segments[2]!]) {
      const path = join(t.path, file);
      const bytes = readFileSync(path);
      const first = decodeFrame(bytes, 0);
      if (!first.ok) throw new Error('the journal wrote a bad frame');
      bytes[first.next + 20]! ^= 0x01;
      writeFileSync(path, bytes);
    }
    journal = new DurableJournal({ dir: t.path, segmentBytes: 1024, fsync: 'never' });
    expect(asides(t.path).map((f) => f.split('.corrupt-')[0])).toEqual([segments[0], segments[2]]);

    // Retention drops the first two segments.
    const third = Number(segments[2]!.slice(0, 20));
    const dropped = journal.prune(third, () => true);
    expect(dropped.segments).toBe(2);
    expect(asides(t.path).map((f) => f.split('.corrupt-')[0])).toEqual([segments[2]]);
    await journal.close();
  });
});
