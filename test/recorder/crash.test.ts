import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import { repairBag } from '../../daemon/recorder/repair.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { bundleChild } from '../helpers/fast-child.ts';
import { openIndexedMcap } from '../helpers/mcap-file.ts';

const codec = new MessageCodec(new DefinitionsRegistry());
const work = tempDir('crash-');
// The recording child is started eight times: compiled once, it starts in under half the time.
let child: Awaited<ReturnType<typeof bundleChild>>;
beforeAll(async () => {
  child = await bundleChild(join(ROOT, 'test/recorder/record-child.ts'));
});
afterAll(() => {
  child?.cleanup();
  work.cleanup();
});

/**
 * Starts a recording child and kills it with SIGKILL `afterMs` after it starts recording or, with
 * `afterFirstSplit`, after it has finished its first split (however slow a loaded machine makes it); returns
 * the last flushed seq.
 */
function recordAndKill(
  bagsDir: string,
  afterMs: number,
  compression: string,
  afterFirstSplit: boolean,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const recording = spawn(process.execPath, child.args(bagsDir, compression), {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let timer: NodeJS.Timeout | undefined;
    const armed = afterFirstSplit ? /^closed /m : /^recording$/m;
    recording.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!timer && armed.test(out)) timer = setTimeout(() => recording.kill('SIGKILL'), afterMs);
    });
    recording.on('error', reject);
    recording.on('close', (_code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the recording child exited by itself:\n${out}`));
      const flushed = [...out.matchAll(/^flushed (\d+)$/gm)].map((m) => Number(m[1]));
      resolve(flushed.length ? flushed[flushed.length - 1]! : -1);
    });
  });
}

async function readSeqs(file: string): Promise<number[]> {
  const reader = await openIndexedMcap(file);
  const out: number[] = [];
  for await (const m of reader.readMessages())
    out.push(Number(codec.decode<{ data: string }>('std_msgs/msg/String', m.data).data));
  return out;
}

describe('crash safety: kill -9 at random moments while recording', () => {
  it(
    'keeps every finished split intact, and the repaired open split loses nothing that was flushed',
    { timeout: 180_000 },
    async () => {
      const kills = 8;
      let repaired = 0;
      let finished = 0;
      for (let i = 0; i < kills; i++) {
        const bagsDir = join(work.path, `run${i}`);
        // The first half at any moment from the start (most while the first split is open); the second half
        // once a split has closed, so that finished splits are exercised whatever this machine's speed.
        const afterFirstSplit = i >= kills / 2;
        const afterMs = afterFirstSplit ? Math.floor(Math.random() * 500) : 150 + Math.floor(Math.random() * 900);
        const flushed = await recordAndKill(bagsDir, afterMs, i % 2 === 0 ? 'none' : 'lz4', afterFirstSplit);
        const [bag] = readdirSync(bagsDir);
        const dir = join(bagsDir, bag!);
        // Splits listed in metadata.yaml before the kill were finished: they must open as they are.
        // (A kill before the first metadata.yaml write, on a loaded machine, leaves none: no split was finished then.)
        const before = existsSync(join(dir, 'metadata.yaml'))
          ? parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), 'metadata.yaml')
          : { files: [] };
        for (const f of before.files)
          expect((await readSeqs(join(dir, f.path))).length, `${f.path} after kill at ${afterMs} ms`).toBe(
            f.messageCount,
          );
        // The open split: repaired by `bag repair` once, by the library call otherwise (the recorder's path).
        const report =
          i === 0 ? JSON.parse((await runMain(['bag', 'repair', dir, '--json'])).stdout) : await repairBag(dir);
        expect(report.files.filter((f: { state: string }) => f.state === 'intact').length).toBeGreaterThanOrEqual(
          before.files.length,
        );
        repaired += report.files.filter((f: { state: string }) => f.state === 'repaired').length;
        finished += before.files.length;
        const after = parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
        const seqs: number[] = [];
        for (const f of after.files) seqs.push(...(await readSeqs(join(dir, f.path))));
        expect(after.messageCount).toBe(seqs.length);
        // What survives holds every flushed message, in order and once each. Past the last flush a chunk still in
        // flight may be lost while a later one landed: repair keeps that later one, so a gap may follow.
        expect(seqs.slice(0, flushed + 1), `kill at ${afterMs} ms: flushed up to ${flushed}`).toEqual(
          Array.from({ length: flushed + 1 }, (_, k) => k),
        );
        expect(seqs.every((s, k) => k === 0 || s > seqs[k - 1]!)).toBe(true);
      }
      // The kills landed while splits were open and after some had closed: both paths were exercised.
      expect(repaired).toBeGreaterThan(0);
      expect(finished).toBeGreaterThan(0);
    },
  );
});
