import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCentralServe } from '../../central/serve.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { silentLogger } from '../../daemon/log.ts';
import { centralConfig, waitOnline } from '../central/central-harness.ts';
import { serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { postJson } from '../helpers/post-json.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';

/**
 * The operator's stop and its release are what an audit most needs, with no run active as well as with one: each is
 * an agent event in the journal, and from there a row of the robot's lakehouse `events` table (read with `query`, as
 * an operator would) and of central's `events` (central serve ingesting over a real mosquitto), the same record.
 */
describe("the operator's stop, followed into the lakehouse and to central", () => {
  const cleanups = cleanupStack();

  it('reaches both as stop.engaged and stop.released, with who, why and where, with no run active', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const lake = tempDir('stop-audit-central-');
    cleanups.push(lake.cleanup);
    const serve = await startCentralServe(serveSettings({ broker, dir: lake.path }), { log: silentLogger() });
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');

    const { daemon, sim, dir } = await startSimDaemon(cleanups, {
      speed: 5,
      prefix: 'stop-audit-',
      config: {
        robot: { id: 'r1', fleet: 'lab' },
        api: { enabled: true, port: 0 },
        lakehouse: { enabled: true, events_flush_s: 0.2 },
        central: centralConfig(broker.url),
      },
    });
    await waitOnline(daemon);
    await sim.until(0.5); // odometry has come: the stop says where the robot was
    const url = daemon.ports.get(PORTS.api)!.url!;
    const post = async (path: string, body: unknown) => {
      const { status, json } = await postJson(url, path, body);
      expect(status, JSON.stringify(json)).toBe(200);
      return json;
    };
    await post('/stop', { by: 'ada', reason: 'person in the aisle' });
    const pose = sim.world.pose();
    expect(await post('/stop/release', { by: 'bob' })).toMatchObject({ released: true });
    expect(daemon.ports.get(PORTS.agent)!.listRuns({ limit: 10 })).toEqual([]); // no run was active, nor made

    // The robot's lakehouse, through `query` as an operator reads it.
    const config = join(dir, 'query.yaml');
    writeFileSync(config, `data_dir: ${join(dir, 'data')}\n`);
    const sql = "SELECT seq, run_id, kind, payload FROM events WHERE kind LIKE 'stop.%' ORDER BY seq";
    const local = await waitForValue(
      async () => {
        const q = await runCli(['query', sql, '--json', '--config', config]);
        if (q.code !== 0) throw new Error(q.stderr);
        const { rows } = JSON.parse(q.stdout) as {
          rows: [seq: string, runId: string, kind: string, payload: string][];
        };
        return rows.length === 2 ? rows : undefined;
      },
      'both stop events in the lakehouse events table',
      60_000,
    );
    expect(local.map(([, , kind]) => kind)).toEqual(['stop.engaged', 'stop.released']);
    // Each under the stop's own id, which names no run: the agent's store knows neither.
    for (const [, runId] of local) expect(daemon.ports.get(PORTS.agent)!.getRun(runId)).toBeUndefined();
    const engaged = JSON.parse(local[0]![3]) as { by: string; reason: string; pose: { x: number; y: number } };
    expect(engaged).toMatchObject({ by: 'ada', reason: 'person in the aisle', zeroed: ['/cmd_vel'] });
    expect(Math.hypot(engaged.pose.x - pose.x, engaged.pose.y - pose.y)).toBeLessThan(0.5);
    expect(JSON.parse(local[1]![3])).toMatchObject({ by: 'bob', latch: { by: 'ada' } });

    // Central's events: the same journal records (by seq), ingested from the robot's outbox over the broker.
    const fleet = await waitForValue(
      async () => {
        const { rows } = await serve.view.query(
          `SELECT seq, json_extract_string(data, '$.kind') AS kind, json_extract_string(data, '$.payload.by') AS by,
             json_extract_string(data, '$.payload.reason') AS reason
           FROM events WHERE robot = 'r1' AND kind = 'agent_event'
             AND json_extract_string(data, '$.kind') LIKE 'stop.%' ORDER BY seq`,
        );
        return rows.length === 2 ? rows : undefined;
      },
      "both stop events in central's events",
      60_000,
    );
    expect(fleet).toEqual([
      [local[0]![0], 'stop.engaged', 'ada', 'person in the aisle'],
      [local[1]![0], 'stop.released', 'bob', null],
    ]);
  }, 120_000);
});
