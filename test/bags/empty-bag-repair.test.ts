import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { parseMetadata, NO_START } from '../../daemon/bags/metadata.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { FIXTURES, ROOT, runMain, tempDir } from '../helpers/cli.ts';
import { mcapMessageCount } from '../helpers/mcap-file.ts';

const work = tempDir('empty-bag-');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  work.cleanup();
});

/**
 * A recorder in a child process that never gets a message; resolves once it records (its bag holds only the marker).
 */
function startEmptyRecorder(bagsDir: string): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'test/recorder/empty-bag-record-child.ts'), bagsDir],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.push(child);
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('recording') && resolve(child));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      reject(new Error(`the recording child exited (${code ?? signal}) before it recorded`)),
    );
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** What rosbag2 leaves of a bag closed with no message: one listed split holding none, starting at INT64_MAX. */
async function expectEmptyBag(dir: string): Promise<void> {
  expect(existsSync(join(dir, '.recording')), `${dir} keeps its marker`).toBe(false);
  const meta = parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), 'metadata.yaml');
  expect(meta.messageCount).toBe(0);
  expect(meta.startingTimeNs).toBe(NO_START);
  expect(meta.relativeFilePaths).toEqual([`${meta.files[0]!.path}`]);
  expect(meta.files).toEqual([
    { path: meta.files[0]!.path, startingTimeNs: NO_START, durationNs: 0n, messageCount: 0 },
  ]);
  expect(await mcapMessageCount(join(dir, meta.files[0]!.path))).toBe(0);
  const info = await runMain(['bag', 'info', dir]);
  expect(info.stderr).toBe('');
  expect(info.code).toBe(0);
  expect(info.stdout).toMatch(/Messages:\s+0\n/);
}

/** Every file of a directory with its bytes, to show that nothing changed. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(readdirSync(dir).map((f) => [f, readFileSync(join(dir, f)).toString('base64')]));
}

function recorder(bagsDir: string, lines: { level: number; msg: string }[]): Recorder {
  const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, min_free_bytes: 0 };
  const log = pino(
    { level: 'info' },
    { write: (line: string) => void lines.push(JSON.parse(line) as { level: number; msg: string }) },
  );
  return new Recorder({ bus: new Bus(), definitions: new DefinitionsRegistry(), log, bagsDir, settings });
}

describe('a bag in which nothing was recorded', () => {
  it(
    'killed before its first message: the next start finishes it as an empty bag, says so once, and never again',
    { timeout: 60_000 },
    async () => {
      const bagsDir = join(work.path, 'killed');
      await kill9(await startEmptyRecorder(bagsDir));
      const [bag] = readdirSync(bagsDir);
      const dir = join(bagsDir, bag!);
      expect(readdirSync(dir)).toEqual(['.recording']);
      const info = await runMain(['bag', 'info', dir]);
      expect(info.code).toBe(1);
      expect(info.stderr).toContain(`${dir}: not a bag yet: it holds only a .recording marker`);
      expect(info.stderr).toContain(`\`auraison-edge bag repair ${dir}\` finishes it as an empty bag`);

      const lines: { level: number; msg: string }[] = [];
      const rec = recorder(bagsDir, lines);
      await rec.start();
      await rec.close();
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(lines.filter((l) => /nothing was recorded/.test(l.msg)).length).toBe(1);
      await expectEmptyBag(dir);

      // The next start finds nothing left open: no repair, no error.
      const again: { level: number; msg: string }[] = [];
      const rec2 = recorder(bagsDir, again);
      await rec2.start();
      await rec2.close();
      expect(again.filter((l) => l.level >= 40)).toEqual([]);
    },
  );

  it('a clean stop with no message leaves what rosbag2 leaves: one empty split, listed; bag repair finds nothing to do', async () => {
    const bagsDir = join(work.path, 'clean');
    const rec = recorder(bagsDir, []);
    await rec.start();
    await rec.close();
    const dir = join(bagsDir, readdirSync(bagsDir)[0]!);
    await expectEmptyBag(dir);
    const before = snapshot(dir);
    const repair = await runMain(['bag', 'repair', dir]);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toMatch(/nothing to repair: .*\(0 messages\); nothing was changed/);
    expect(snapshot(dir)).toEqual(before);
  });

  describe('bag repair of a split cut off at any byte before its first message landed', () => {
    // A real split of the recorder: magic (8 bytes), Header record, then its first chunk.
    let whole: Buffer;
    let headerEnd: number;
    beforeAll(async () => {
      const { files } = await recordSmallBag(join(work.path, 'source'), new DefinitionsRegistry(), 40);
      whole = readFileSync(files[0]!);
      headerEnd = 17 + Number(whole.readBigUInt64LE(9));
    });
    const cuts: [string, (headerEnd: number) => number][] = [
      ['0 bytes (created, never written)', () => 0],
      ['half the magic', () => 5],
      ['the magic only', () => 8],
      ['the magic and a cut-off Header record', () => 20],
      ['the magic and the Header record', (h) => h],
      ['a torn first chunk', (h) => h + 100],
    ];
    for (const [what, at] of cuts) {
      it(what, async () => {
        const size = at(headerEnd);
        const dir = join(work.path, `cut-${size}`);
        mkdirSync(dir);
        const split = join(dir, `cut-${size}_0.mcap`);
        writeFileSync(split, whole.subarray(0, size));
        writeFileSync(join(dir, '.recording'), '999999999\n'); // a recorder long gone
        const result = await runMain(['bag', 'repair', dir]);
        expect(result.stderr).toBe('');
        expect(result.code).toBe(0);
        expect(result.stdout).toMatch(/nothing was recorded: finished as an empty bag .*\.recording marker removed/);
        await expectEmptyBag(dir);
        // Bytes that held no whole record are kept as they were, never dropped.
        const orig = `${split}.orig`;
        if (size > headerEnd) expect(readFileSync(orig)).toEqual(whole.subarray(0, size));
        if (size > 8) expect(existsSync(orig) || size === headerEnd).toBe(true);
      });
    }
  });
});

describe('bag repair refuses what is not a bag left open, and changes nothing', () => {
  it(
    'a bag being recorded by a live recorder; once that recorder is gone, the same bag is repaired',
    { timeout: 60_000 },
    async () => {
      const bagsDir = join(work.path, 'live');
      const child = await startEmptyRecorder(bagsDir);
      const dir = join(bagsDir, readdirSync(bagsDir)[0]!);
      const before = snapshot(dir);
      const result = await runMain(['bag', 'repair', dir]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `${dir}: is being recorded by process ${child.pid} (its .recording marker says so): not modified`,
      );
      expect(result.stderr).toMatch(/stop the daemon first/);
      expect(snapshot(dir)).toEqual(before);
      await kill9(child);
      const after = await runMain(['bag', 'repair', dir]);
      expect(after.code).toBe(0);
      await expectEmptyBag(dir);
    },
  );

  it(
    'a marker whose pid now belongs to a process started after it was written (a pid reused after a reboot) is a dead recorder',
    { timeout: 30_000 },
    async () => {
      const dir = join(work.path, 'reused-pid');
      mkdirSync(dir);
      const other = spawn('sleep', ['60']);
      children.push(other);
      writeFileSync(join(dir, '.recording'), `${other.pid}\n`);
      const hourAgo = new Date(Date.now() - 3600_000);
      utimesSync(join(dir, '.recording'), hourAgo, hourAgo);
      const result = await runMain(['bag', 'repair', dir]);
      other.kill('SIGKILL');
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      await expectEmptyBag(dir);
    },
  );

  const cases: [string, (dir: string) => string, RegExp][] = [
    [
      'an empty directory',
      (dir) => dir,
      /: not a bag: no metadata\.yaml, no \.mcap or \.db3 file and no \.recording marker in it; nothing to repair, and nothing was modified/,
    ],
    [
      'a metadata.yaml that lists files that are not there, and no storage file',
      (dir) => {
        writeFileSync(
          join(dir, 'metadata.yaml'),
          readFileSync(join(FIXTURES, 'bags', 'rosbags-rs', 'test_bag_mcap', 'metadata.yaml')),
        );
        return join(dir, 'metadata.yaml');
      },
      /metadata\.yaml: lists test_bag_mcap\.mcap \(188 messages\), but no \.mcap or \.db3 file is in .*: nothing to repair from, and nothing was modified\. If the bag's files were moved, put them back/,
    ],
    [
      'a garbage metadata.yaml and no storage file',
      (dir) => {
        writeFileSync(join(dir, 'metadata.yaml'), 'rosbag2_bagfile_information: [\n');
        return join(dir, 'metadata.yaml');
      },
      /metadata\.yaml: not valid YAML: .*; and no \.mcap or \.db3 file is in .*: nothing to repair from, and nothing was modified/,
    ],
    [
      'a path that is a file',
      (dir) => {
        writeFileSync(join(dir, 'x.mcap'), 'not a bag');
        return join(dir, 'x.mcap');
      },
      /x\.mcap: header unreadable \(no MCAP magic at its start\) and no chunk in it checks; not modified\. Try `mcap recover`/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(what, async () => {
      const dir = join(work.path, what.replace(/\W+/g, '-'));
      mkdirSync(dir);
      const named = make(dir);
      const target = what === 'a path that is a file' ? named : dir;
      const before = snapshot(dir);
      const result = await runMain(['bag', 'repair', target]);
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(named);
      expect(result.stderr).toMatch(message);
      expect(snapshot(dir)).toEqual(before);
    });
  }
});
