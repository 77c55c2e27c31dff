import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandRecordReader, CommandRecordWriter } from './command-records.ts';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A FIFO opened non-blocking at both ends, as the loop process's command pipe is at the loop's end. */
function pipe(): { reader: number; writer: number } {
  const dir = mkdtempSync(join(tmpdir(), 'command-pipe-'));
  dirs.push(dir);
  const path = join(dir, 'fifo');
  execFileSync('mkfifo', [path]);
  const reader = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  const writer = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  return { reader, writer };
}

describe('command records through a pipe', () => {
  it('drops a command where the pipe is full, finishes one it took in part, and the reader gets each whole, in order', () => {
    const { reader, writer } = pipe();
    try {
      // Records of over PIPE_BUF (4096 B) may be taken in part by a nearly full pipe.
      const record = (i: number) => new Uint8Array(5000 + (i % 7)).fill(i % 256);
      const out = new CommandRecordWriter(writer, 2);
      const sent: number[] = [];
      let dropped = 0;
      for (let i = 0; dropped < 3; i++) {
        if (out.write(record(i), new Float32Array([i, -i]), i % 2 === 0)) sent.push(i);
        else dropped++;
      }
      // Drain; then the writer finishes what it had begun before its next record.
      const got: { values: number[]; size: number; first: number; safe: boolean }[] = [];
      const input = new CommandRecordReader();
      let drained = 0;
      const drain = () => {
        const chunk = Buffer.alloc(65_536);
        for (let n = safeRead(reader, chunk); n > 0; n = safeRead(reader, chunk)) {
          drained += n;
          input.push(Buffer.from(chunk.subarray(0, n)), (m) =>
            got.push({ values: Array.from(m.values), size: m.data.byteLength, first: m.data[0]!, safe: m.safe }),
          );
        }
      };
      drain();
      // The last record it took was taken in part: the pipe held less than the records said sent.
      const recordBytes = (i: number) => 12 + 2 * 4 + record(i).byteLength;
      expect(drained).toBeLessThan(sent.reduce((sum, i) => sum + recordBytes(i), 0));
      expect(got.length).toBe(sent.length - 1);
      const last = sent.at(-1)! + 100;
      expect(out.write(record(last), new Float32Array([last, -last]), last % 2 === 0)).toBe(true);
      sent.push(last);
      drain();
      expect(got.map((g) => g.values[0])).toEqual(sent);
      for (const g of got) {
        const i = g.values[0]!;
        expect(g).toEqual({ values: [i, -i], size: 5000 + (i % 7), first: i % 256, safe: i % 2 === 0 });
      }
    } finally {
      closeSync(writer);
      closeSync(reader);
    }
  });
});

/** A read of a non-blocking FIFO that is empty: 0, not EAGAIN. */
function safeRead(fd: number, into: Buffer): number {
  try {
    return readSync(fd, into);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EAGAIN') return 0;
    throw error;
  }
}
