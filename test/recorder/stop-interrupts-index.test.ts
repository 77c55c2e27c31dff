import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { RecorderConfig } from '../../daemon/config/sections/bags.ts';
import { lakehousePaths } from '../../daemon/lakehouse/catalog.ts';
import { Recorder, type RecorderSettings } from '../../daemon/recorder/recorder.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';

const MESSAGES = 60_000;
const work = tempDir('stop-interrupts-index-');
const daemons: DaemonProcess[] = [];
afterAll(() => {
  for (const d of daemons) d.child.kill('SIGKILL'); // a test that failed with one running
  work.cleanup();
});

/** One bag of MESSAGES Odometry messages in one split (tens of MB), recorded by the real recorder into `dataDir`. */
async function recordOdometry(dataDir: string): Promise<string> {
  const registry = new DefinitionsRegistry({ distro: 'jazzy' });
  const bus = new Bus();
  const recorder = new Recorder({
    bus,
    definitions: registry,
    log: pino({ level: 'silent' }),
    bagsDir: join(dataDir, 'bags'),
    settings: {
      ...(Value.Default(RecorderConfig, {}) as RecorderSettings),
      enabled: true,
      compression: 'none',
      split_max_bytes: 4e9,
      min_free_bytes: 0,
    },
  });
  const codec = new MessageCodec(registry);
  const pub = bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'test' });
  await recorder.start();
  const covariance = new Array<number>(36).fill(0);
  for (let i = 0; i < MESSAGES; i++) {
    pub.publish(
      codec.encode('nav_msgs/msg/Odometry', {
        header: { stamp: { sec: i, nanosec: 0 }, frame_id: 'odom' },
        child_frame_id: 'base_link',
        pose: { pose: { position: { x: i, y: 0, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } }, covariance },
        twist: { twist: { linear: { x: 0.2, y: 0, z: 0 }, angular: { x: 0, y: 0, z: 0 } }, covariance },
      }),
    );
    if (i % 5000 === 0) await new Promise((r) => setImmediate(r)); // the recorder's queue drains
  }
  await recorder.close();
  bus.close();
  return recorder.bags[0]!;
}

/** Whether a parquet file is being written under `dir` (an import's batches, staged before its commit). */
function staging(dir: string): boolean {
  return existsSync(dir) && readdirSync(dir, { recursive: true }).some((f) => String(f).endsWith('.parquet'));
}

describe('a recorded split being indexed at SIGTERM', () => {
  it('is interrupted with nothing committed, query says it waits, and the next start indexes all of it', async () => {
    const dataDir = join(work.path, 'data');
    const bag = await recordOdometry(dataDir);
    const config = join(work.path, 'edge.yaml');
    writeFileSync(
      config,
      stringify({
        data_dir: './data',
        log: { level: 'info' },
        api: { enabled: false },
        foxglove: { enabled: false },
        agent: { enabled: false },
        retention: { enabled: false },
        // Small batches: the import shows in staging early, with most of the split still to read.
        lakehouse: { enabled: true, batch_rows: 5000 },
      }),
    );
    const count = async () => {
      const q = await runCli(
        ['query', "SELECT count(*) FROM messages WHERE topic = '/odom'", '--csv', '--config', config],
        { cwd: work.path },
      );
      return { q, n: q.code === 0 ? Number(q.stdout.trim().split('\n')[1]) : undefined };
    };

    // The start finds the split not in the catalog and indexes it; SIGTERM comes while it is under way.
    const first = new DaemonProcess(work.path, config);
    daemons.push(first);
    await first.running();
    await waitFor(() => staging(lakehousePaths(dataDir).staging), 'the import under way', 60_000);
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    const said = (text: string) => first.logs.filter((l) => String(l.msg).includes(text));
    expect(said('still running after stop')).toEqual([]);
    expect(said('still open after the stop')).toEqual([]);
    expect(said('job(s) interrupted or not run; the next start does them')).toEqual([
      expect.objectContaining({
        level: 40, // a warning: the split was being indexed before the stop
        jobs: 1,
        first: expect.stringMatching(new RegExp(`^index ${bag}/.+\\.mcap$`)),
      }),
    ]);
    // Nothing of it is in the catalog, and the answer says so.
    const before = await count();
    expect(before.n, before.q.stderr).toBe(0);
    expect(before.q.stderr).toContain(
      `1 recorded split(s) with ${MESSAGES} message(s) are waiting to be indexed (first: ${bag}/`,
    );

    const second = new DaemonProcess(work.path, config);
    daemons.push(second);
    await second.running();
    await waitForValue(async () => (await count()).n === MESSAGES, 'the whole split indexed', 120_000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
    expect((await count()).q.stderr).not.toContain('waiting to be indexed');
  }, 240_000);
});
