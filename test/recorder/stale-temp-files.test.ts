import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, utimesSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { applyRetention } from '../../daemon/lakehouse/retention.ts';
import { Recorder, RECORDING_MARKER, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { tempName } from '../../daemon/recorder/segment-io.ts';
import { STALE_TEMP_MS, sweepStaleTempFiles } from '../../daemon/recorder/stale-temp-files.ts';
import { recordSmallBag } from '../helpers/recorded-bag.ts';
import { runMain, tempDir } from '../helpers/cli.ts';

const registry = new DefinitionsRegistry();
const work = tempDir('stale-temp-');
afterAll(() => work.cleanup());

/** The pid of a process that has exited. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '']);
  return child.pid!;
}

/**
 * metadata.yaml's temporary file as a writer with `pid` names it, written `ageMs` ago (half a metadata.yaml, as a kill
 * leaves it).
 */
function leaveTemp(dir: string, pid: number, ageMs = 0, random = 'a1b2c3d4e5f6'): string {
  const name = `metadata.yaml.${pid}.${random}.tmp`;
  writeFileSync(join(dir, name), 'rosbag2_bagfile_information:\n  version: 9\n  storage_identifier: mc');
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(join(dir, name), t, t);
  return name;
}

const processStart = () => Date.now() - process.uptime() * 1000;

describe('temporary files of metadata.yaml writes whose writer died', () => {
  it("are swept when the writer is gone, is this process from before it started, or the file is old; a live writer's stays", async () => {
    const { bag } = await recordSmallBag(join(work.path, 'sweep'), registry, 100);
    const dead = leaveTemp(bag, deadPid(), 0, '000000000001');
    const liveOther = leaveTemp(bag, process.ppid, 0, '000000000002'); // the test runner's parent: alive
    const oldOther = leaveTemp(bag, process.ppid, STALE_TEMP_MS + 60_000, '000000000003');
    const mine = basename(tempName(join(bag, 'metadata.yaml'))); // named as every writer of ours names it
    writeFileSync(join(bag, mine), 'partial');
    const mineBeforeStart = leaveTemp(bag, process.pid, Date.now() - processStart() + 5_000, '000000000004');
    const others = ['notes.tmp', 'metadata.yaml.orig', 'metadata.yaml.12.tmp'];
    for (const f of others) writeFileSync(join(bag, f), 'x');
    const before = readdirSync(bag);

    expect(sweepStaleTempFiles(bag).sort()).toEqual([dead, mineBeforeStart, oldOther].sort());
    expect(readdirSync(bag).sort()).toEqual(
      before.filter((f) => ![dead, mineBeforeStart, oldOther].includes(f)).sort(),
    );
    expect(readdirSync(bag)).toEqual(expect.arrayContaining([liveOther, mine, ...others]));
  });

  it('the recorder sweeps every bag when it starts, the ones it repairs included', async () => {
    const dataDir = join(work.path, 'recorder');
    const { bag: closed } = await recordSmallBag(dataDir, registry, 100);
    const { bag: open } = await recordSmallBag(dataDir, registry, 100);
    writeFileSync(join(open, RECORDING_MARKER), '1\n'); // as if killed: repaired at the next start
    const deadInClosed = leaveTemp(closed, deadPid());
    const deadInOpen = leaveTemp(open, deadPid());
    const live = leaveTemp(closed, process.ppid, 0, 'ffffffffffff');
    const bus = new Bus();
    const settings = { ...(Value.Default(RecorderConfig, {}) as RecorderSettings), enabled: true, min_free_bytes: 0 };
    const recorder = new Recorder({
      bus,
      definitions: registry,
      log: pino({ level: 'silent' }),
      bagsDir: join(dataDir, 'bags'),
      settings,
    });
    await recorder.start();
    await recorder.close();
    bus.close();
    expect(existsSync(join(closed, deadInClosed))).toBe(false);
    expect(existsSync(join(open, deadInOpen))).toBe(false);
    expect(existsSync(join(open, RECORDING_MARKER))).toBe(false);
    expect(existsSync(join(closed, live))).toBe(true);
  });

  it('bag repair removes them and says so; bag info, bag import and retention are not confused by them', async () => {
    const dataDir = join(work.path, 'cli');
    const { bag, files } = await recordSmallBag(dataDir, registry, 320);
    const config = join(work.path, 'cli.yaml');
    writeFileSync(config, `data_dir: ${dataDir}\nrobot:\n  id: r1\n`);
    const infoBefore = await runMain(['bag', 'info', bag, '--json']);
    expect(infoBefore.code).toBe(0);

    const dead = leaveTemp(bag, deadPid());
    const live = leaveTemp(bag, process.ppid, 0, 'ffffffffffff');
    const info = await runMain(['bag', 'info', bag, '--json']);
    expect(info).toMatchObject({ code: 0, stdout: infoBefore.stdout });

    const repair = await runMain(['bag', 'repair', bag]);
    expect(repair.code).toBe(0);
    expect(repair.stdout).toContain(
      `${bag}: removed 1 temporary file(s) left by a writer killed before it renamed them: ${dead}\n`,
    );
    expect(repair.stdout).toContain(
      'nothing to repair: every split is whole and metadata.yaml lists them (320 messages); nothing else was changed',
    );
    expect(existsSync(join(bag, dead))).toBe(false);
    expect(existsSync(join(bag, live))).toBe(true);

    leaveTemp(bag, deadPid(), 0, '0000000000aa');
    const imported = await runMain(['bag', 'import', bag, '--json', '--config', config]);
    expect(imported.code).toBe(0);
    const [report] = JSON.parse(imported.stdout).imported;
    expect(report).toMatchObject({ messages: 320, warnings: [] });

    // Retention deletes every split, then the bag directory, temporary files and all.
    const pass = await applyRetention({
      dataDir,
      settings: { max_bytes: 1, max_age_hours: 0, allow_unsynced_delete: true },
      syncRequired: false,
    });
    expect(
      pass.deleted
        .map((d) => d.file)
        .filter((f) => f.endsWith('.mcap'))
        .sort(),
    ).toEqual([...files].sort());
    expect(existsSync(bag)).toBe(false);
  });
});
