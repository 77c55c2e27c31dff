import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { startCentralServe } from '../../central-link/central/serve.ts';
import type { CentralServeConfig } from '../../central-link/central/config.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { eventsPayload, publishQos1, robotClient, serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

/** A serve process of its own; resolves once it is connected. */
async function serveChild(settings: CentralServeConfig, clientId: string): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'test/central-serve/serve-child.ts', JSON.stringify(settings), clientId],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`serve child exited (${code})`)));
  });
  return child;
}

const killed = (child: ChildProcess) =>
  new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });

describe('central serve: two processes share the fleet', () => {
  it('one killed (SIGKILL) in a burst: the other takes the traffic, and once restarted nothing is lost or doubled; PostgreSQL restarted mid-burst: caught up', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    const dir = tempDir('central-serve-');
    cleanups.push(() => dir.cleanup());
    const settings = serveSettings({ broker, pg, dir: dir.path });
    let a = await serveChild(settings, 'central-a');
    cleanups.push(() => killed(a));
    const b = await startCentralServe(settings, { log: silentLogger(), clientId: 'central-b' });
    cleanups.push(() => b.stop());
    await waitFor(() => b.intake.connected, 'central b to connect');

    const robots = ['r1', 'r2'];
    const client = await robotClient(broker, 'robots-test');
    cleanups.push(() => client.endAsync());
    const PER_BATCH = 50;
    const BATCHES = 120;
    const send = async (i: number) => {
      for (const r of robots) {
        const first = i * PER_BATCH + 1;
        await publishQos1(client, `auraison/lab/${r}/events`, eventsPayload(r, 'j1', first, first + PER_BATCH - 1));
      }
    };
    let sent = 0;
    const burst = (async () => {
      for (let i = 0; i < 60; i++, sent++) await send(i);
    })();
    await waitFor(() => sent >= 30, 'half the burst sent');
    await killed(a); // in the burst: messages A took and had not acknowledged stay in its session
    await burst;
    const bBefore = b.ingest.counts.batches;
    for (let i = 60; i < 80; i++) await send(i);
    // B alone takes what comes while A is gone.
    await waitFor(() => b.ingest.counts.batches >= bBefore + 40, 'central b to take the traffic');
    // PostgreSQL goes away mid-burst: nothing is acknowledged meanwhile, and B catches up after.
    await pg.stop('SIGKILL');
    for (let i = 80; i < 100; i++) await send(i);
    await waitFor(() => b.ingest.lastError !== undefined, 'central b to see the catalog gone');
    await pg.restart();
    for (let i = 100; i < BATCHES; i++) await send(i);
    // A comes back with its session: the broker sends it what it had not acknowledged when killed.
    a = await serveChild(settings, 'central-a');
    const total = robots.length * BATCHES * PER_BATCH;
    await waitFor(
      async () => {
        const { rows } = await b.view.query('SELECT count(*) FROM events');
        return Number(rows[0]![0]) >= total;
      },
      'every event in the lake',
      60_000,
    );
    const { rows } = await b.view.query(
      'SELECT robot, count(*), count(DISTINCT seq), min(seq), max(seq) FROM events GROUP BY robot ORDER BY robot',
    );
    const each = String(BATCHES * PER_BATCH);
    expect(rows).toEqual([
      ['r1', each, each, '1', each],
      ['r2', each, each, '1', each],
    ]);
    expect(b.ingest.counts.failed_commits).toBeGreaterThan(0);
  });
});
