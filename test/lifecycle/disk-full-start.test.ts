import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { COMPONENTS } from '../../daemon/components/index.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { DataDirLock } from '../../daemon/lifecycle/data-dir.ts';
import { silentLogger } from '../../daemon/log.ts';
import { startStatusFile } from '../../daemon/status/status-file.ts';
import { canMountTmpfs, fillDisk, mountSmallTmpfs } from '../helpers/small-tmpfs.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();

function fullDisk() {
  const disk = mountSmallTmpfs('256k');
  cleanups.push(disk.cleanup);
  const dataDir = join(disk.path, 'data');
  mkdirSync(join(dataDir, 'run'), { recursive: true });
  // A daemon that died without removing its file (a power cut), then the disk filled.
  writeFileSync(
    join(dataDir, 'run', 'daemon.json'),
    JSON.stringify({ pid: 999_999_999, started_at: 'yesterday', config_file: null }),
  );
  fillDisk(disk.path);
  return { disk, dataDir };
}

/**
 * A robot whose eMMC filled up, rebooted: the daemon must come up on a 100% full disk (a real tmpfs), since
 * it is what frees space (retention) and says the disk is full (health); it used to exit at once because
 * run/daemon.json could not be written.
 */
describe.runIf(canMountTmpfs())('starting on a disk that is already full', () => {
  it("the data dir lock is taken without run/daemon.json (the kernel lock holds; a dead daemon's file goes), and still keeps a second daemon out", async () => {
    const { dataDir } = fullDisk();
    const warnings: string[] = [];
    const lock = await DataDirLock.acquire(dataDir, undefined, (w) => warnings.push(w));
    cleanups.push(() => lock.release());
    expect(warnings).toEqual([
      `data dir: cannot write ${dataDir}/run/daemon.json (ENOSPC: no space left on device, write): the disk is full; starting anyway (the data dir lock holds without it; it names this daemon to a second one)`,
    ]);
    expect(readdirSync(join(dataDir, 'run'))).toEqual([]); // no daemon.json.tmp cut short, no dead daemon's file
    await expect(DataDirLock.acquire(dataDir, undefined)).rejects.toThrow(
      `data_dir ${dataDir} is in use by another daemon; stop that daemon first, or give this one another data_dir`,
    );
  });

  it('the daemon starts, the recorder says the disk is full, and records once there is room, without a restart', async () => {
    const { disk, dataDir } = fullDisk();
    const config = parseConfigText(
      stringify({ data_dir: dataDir, recorder: { enabled: true, min_free_bytes: 65536 } }),
      'edge.yaml',
      {},
    );
    const daemon = new Daemon({ config, log: silentLogger(), specs: COMPONENTS.filter((s) => s.name === 'recorder') });
    cleanups.push(() => daemon.close());
    await daemon.start();
    const recorder = () => daemon.status().components.recorder!;
    expect(recorder()).toMatchObject({
      state: 'degraded',
      reason: expect.stringMatching(
        /^disk full: recording stopped at \S+ \(ENOSPC: only 0 bytes free, below recorder\.min_free_bytes \(65536\)\); resumes once 65536 bytes and 16 inodes are free$/,
      ),
    });

    disk.resize('4m');
    await waitFor(() => recorder().state === 'running', 'the recorder recording once the disk grew');
    expect(recorder().details).toMatchObject({ bag: expect.stringMatching(new RegExp(`^${dataDir}/bags/rosbag2_`)) });
  });
});

describe.runIf(canMountTmpfs())('the API and the status file on a full disk', () => {
  it('the API serves without run/api.json, says so, and leaves no temporary file; the status file leaves none either', async () => {
    const { dataDir } = fullDisk();
    const logged: { msg: string }[] = [];
    const log = pino(
      { level: 'warn' },
      { write: (line: string) => void logged.push(JSON.parse(line) as { msg: string }) },
    );
    const config = parseConfigText(stringify({ data_dir: dataDir, api: { port: 0 } }), 'edge.yaml', {});
    const daemon = new Daemon({ config, log, specs: COMPONENTS.filter((s) => s.name === 'api') });
    cleanups.push(() => daemon.close());
    await daemon.start();
    expect(daemon.status().components.api).toMatchObject({ state: 'running' });
    const url = (daemon.status().components.api!.details as { url: string }).url;
    // /status is where the disk full shows: it must answer.
    expect((await fetch(`${url}/status`)).status).toBe(200);
    expect(logged.map((l) => l.msg)).toContain(
      `data dir: cannot write ${dataDir}/run/daemon.json (ENOSPC: no space left on device, write): the disk is full; starting anyway (the data dir lock holds without it; it names this daemon to a second one)`,
    );
    expect(logged.map((l) => l.msg)).toContain(
      `api: cannot write ${dataDir}/run/api.json: the disk is full; serving anyway. The CLI finds the API by api.port (0 here: give the CLI --url ${url})`,
    );

    startStatusFile(daemon).close('stopped');
    expect(readdirSync(join(dataDir, 'run'))).toEqual([]); // no api.json.tmp, no status.json.tmp cut short
  });
});
