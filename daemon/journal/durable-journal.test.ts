import { spawn } from 'node:child_process';
import { appendFileSync, fdatasync, readdirSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../../test/helpers/paths.ts';
import { DurableJournal } from './durable-journal.ts';
import { encodeFrame } from './frame.ts';

let cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups) c();
  cleanups = [];
});
function dir(): string {
  const t = tempDir('journal-');
  cleanups.push(t.cleanup);
  return t.path;
}
const segmentsOf = (d: string) =>
  readdirSync(d)
    .filter((f) => f.endsWith('.log'))
    .sort();

describe('DurableJournal', () => {
  it('reads back what it appended, in order, across a reopen', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d });
    const records = await Promise.all(Array.from({ length: 20 }, (_, i) => j.append('agent_event', { i })));
    expect(records.map((r) => r.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    await j.close();
    const again = new DurableJournal({ dir: d });
    expect(again.lastSeq).toBe(20);
    expect(again.read(5, 3).map((r) => (r.data as { i: number }).i)).toEqual([4, 5, 6]);
    expect((await again.append('run_state', {})).seq).toBe(21);
    await again.close();
  });

  it('cuts a torn tail at open and carries on from the last whole record', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d });
    for (let i = 0; i < 10; i++) await j.append('agent_event', { i });
    await j.close();
    const file = join(d, segmentsOf(d)[0]!);
    truncateSync(file, statSync(file).size - 3);
    const messages: string[] = [];
    const again = new DurableJournal({ dir: d, onRecovery: (m) => messages.push(m) });
    expect(again.lastSeq).toBe(9);
    expect(messages[0]).toMatch(/torn record/);
    expect((await again.append('agent_event', { i: 'new' })).seq).toBe(10);
    expect(again.read(10, 5).map((r) => r.data)).toEqual([{ i: 'new' }]);
    await again.close();
  });

  it('stops at a record whose CRC does not match', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d });
    for (let i = 0; i < 5; i++) await j.append('agent_event', { i });
    await j.close();
    const file = join(d, segmentsOf(d)[0]!);
    const bytes = readFileSync(file);
    bytes[bytes.length - 5] ^= 0xff; // flip a byte inside the last record's payload
    writeFileSync(file, bytes);
    const messages: string[] = [];
    const again = new DurableJournal({ dir: d, onRecovery: (m) => messages.push(m) });
    expect(again.lastSeq).toBe(4);
    expect(messages[0]).toMatch(/corrupt record/);
    await again.close();
  });

  it('ignores garbage appended after the last record', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d });
    await j.append('agent_event', { ok: true });
    await j.close();
    appendFileSync(join(d, segmentsOf(d)[0]!), Buffer.from([0xff, 0xff, 0xff, 0x7f, 1, 2, 3]));
    const again = new DurableJournal({ dir: d, onRecovery: () => {} });
    expect(again.read(1, 10)).toHaveLength(1);
    await again.close();
  });

  it('rotates segments and reads across them', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d, segmentBytes: 1024 });
    for (let i = 0; i < 100; i++) await j.append('agent_event', { i, pad: 'p'.repeat(40) });
    expect(segmentsOf(d).length).toBeGreaterThan(3);
    expect(j.read(1, 1000).map((r) => (r.data as { i: number }).i)).toEqual(Array.from({ length: 100 }, (_, i) => i));
    await j.close();
    const again = new DurableJournal({ dir: d, segmentBytes: 1024 });
    expect(again.read(60, 2).map((r) => r.seq)).toEqual([60, 61]);
    await again.close();
  });

  it('writes each record as the frame of JSON.stringify(record), byte for byte', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d, fsync: 'never' });
    const big = { text: 'é€😀'.repeat(30_000), n: 1 }; // past the write buffer, multi-byte UTF-8
    const datas: unknown[] = [
      { i: 1, s: 'ünïcødé "quoted" \\ \n' },
      null,
      'text',
      42,
      [1, { a: undefined }],
      undefined,
      big,
      { after: true },
    ];
    const records = await Promise.all(datas.map((data, i) => j.append(i % 2 ? 'run_state' : 'agent_event', data)));
    await j.close();
    const expected = Buffer.concat(records.map((r) => encodeFrame(Buffer.from(JSON.stringify(r)))));
    expect(readFileSync(join(d, segmentsOf(d)[0]!)).equals(expected)).toBe(true);
    const again = new DurableJournal({ dir: d });
    expect(again.read(1, 100).map((r) => r.data)).toEqual(datas.map((x) => JSON.parse(JSON.stringify({ x })).x));
    await again.close();
  });

  it('appends a batch in one write, as the same frames as one append each, and resolves it once', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d, fsync: 'never' });
    const writes: number[] = [];
    j.subscribe((r) => writes.push(r.seq));
    await j.append('run_state', { before: true });
    const size = () => statSync(join(d, segmentsOf(d)[0]!)).size;
    const sizeBefore = size();
    const batch = j.appendMany([
      { kind: 'agent_event', data: { kind: 'llm.message', text: 'ünïcødé' } },
      { kind: 'agent_event', data: { kind: 'tool.call' } },
      { kind: 'run_state', data: undefined },
    ]);
    expect(size()).toBe(sizeBefore); // nothing written before the end of this tick
    const records = await batch;
    expect(records.map((r) => r.seq)).toEqual([2, 3, 4]);
    expect(writes).toEqual([1, 2, 3, 4]);
    expect(await j.appendMany([])).toEqual([]);
    await j.close();
    const all = new DurableJournal({ dir: d }).read(1, 10);
    const expected = Buffer.concat(all.map((r) => encodeFrame(Buffer.from(JSON.stringify(r)))));
    expect(readFileSync(join(d, segmentsOf(d)[0]!)).equals(expected)).toBe(true);
    expect(all.map((r) => r.data)).toEqual([
      { before: true },
      { kind: 'llm.message', text: 'ünïcødé' },
      { kind: 'tool.call' },
      undefined,
    ]);
  });

  it('refuses a whole batch when one entry has no JSON form, and uses up no seq', async () => {
    const d = dir();
    const j = new DurableJournal({ dir: d, fsync: 'never' });
    await expect(
      j.appendMany([
        { kind: 'agent_event', data: { ok: 1 } },
        { kind: 'agent_event', data: { n: 1n } },
      ]),
    ).rejects.toThrow(/agent_event record: its data is not JSON/);
    expect((await j.append('agent_event', { next: true })).seq).toBe(1);
    expect(j.read(1, 10).map((r) => r.data)).toEqual([{ next: true }]);
    await j.close();
  });

  it('rejects a whole batch after a failed fsync, and its seqs are used again', async () => {
    const d = dir();
    let failNext = false;
    const j = new DurableJournal({
      dir: d,
      fsync: 'always',
      fdatasync: (fd, cb) => (failNext ? cb(Object.assign(new Error('EIO'), { code: 'EIO' })) : fdatasync(fd, cb)),
    });
    await j.append('run_state', { first: true });
    failNext = true;
    await expect(
      j.appendMany([
        { kind: 'agent_event', data: { a: 1 } },
        { kind: 'agent_event', data: { b: 2 } },
      ]),
    ).rejects.toThrow(/fsync failed/);
    failNext = false;
    expect((await j.appendMany([{ kind: 'agent_event', data: { c: 3 } }]))[0]!.seq).toBe(2);
    expect(j.read(1, 10).map((r) => r.data)).toEqual([{ first: true }, { c: 3 }]);
    await j.close();
  });

  it('refuses data with no JSON form without using up a seq', async () => {
    const j = new DurableJournal({ dir: dir(), fsync: 'never' });
    await j.append('a', { i: 1 });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await expect(j.append('a', cyclic)).rejects.toThrow(/cannot append a a record: its data is not JSON/);
    await expect(j.append('a', { big: 1n })).rejects.toThrow(/not JSON/);
    expect((await j.append('a', { i: 2 })).seq).toBe(2);
    expect(j.read(1, 10).map((r) => r.data)).toEqual([{ i: 1 }, { i: 2 }]);
    await j.close();
  });

  it('tells subscribers about each record once it is durable, in order', async () => {
    for (const fsync of ['always', 'interval', 'never'] as const) {
      const j = new DurableJournal({ dir: dir(), fsync, intervalMs: 5 });
      const seen: number[] = [];
      j.subscribe((r) => seen.push(r.seq));
      await Promise.all([j.append('a', 1), j.append('b', 2), j.append('c', 3)]);
      expect(seen).toEqual([1, 2, 3]);
      await j.close();
    }
  });

  it('after a failed fsync, rejects and drops every record since the last good one, and carries on', async () => {
    const d = dir();
    let fail = false;
    const j = new DurableJournal({
      dir: d,
      fdatasync: (fd, callback) =>
        fail ? callback(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })) : fdatasync(fd, callback),
    });
    await j.append('agent_event', { i: 'durable' });
    fail = true;
    const results = await Promise.allSettled([
      j.append('agent_event', { i: 'lost-1' }),
      j.append('agent_event', { i: 'lost-2' }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(String((results[0] as PromiseRejectedResult).reason)).toMatch(
      /fsync failed, records from 2 on were not made durable/,
    );
    expect(j.lastSeq).toBe(1);
    expect(j.read(1, 10).map((r) => r.data)).toEqual([{ i: 'durable' }]); // nothing the writer was told failed
    fail = false;
    expect((await j.append('agent_event', { i: 'after' })).seq).toBe(2);
    await j.close();
    const again = new DurableJournal({ dir: d });
    expect(again.read(1, 10).map((r) => r.data)).toEqual([{ i: 'durable' }, { i: 'after' }]);
    await again.close();
  });

  it('loses no acknowledged record when the writer is killed with SIGKILL', async () => {
    for (let round = 0; round < 5; round++) {
      const d = dir();
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'test/helpers/journal-writer.ts'), d], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let out = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      // Kill at a different moment each round, once it has acknowledged a few records.
      await new Promise<void>((resolve) => {
        const wanted = 20 + round * 37;
        const check = () => (out.split('\n').length > wanted ? resolve() : setTimeout(check, 2));
        check();
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('close', resolve));
      const acked = out.split('\n').filter(Boolean).map(Number);
      const j = new DurableJournal({ dir: d, onRecovery: () => {} });
      expect(j.lastSeq).toBeGreaterThanOrEqual(acked.at(-1)!);
      const seqs = j.read(1, 1_000_000).map((r) => r.seq);
      expect(seqs).toEqual(Array.from({ length: j.lastSeq }, (_, i) => i + 1));
      await j.close();
    }
  });
});
