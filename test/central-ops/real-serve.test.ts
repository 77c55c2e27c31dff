import { afterAll, describe, expect, it } from 'vitest';
import { startCentralServe } from '../../central/serve.ts';
import { silentLogger } from '../../daemon/log.ts';
import { eventsPayload, publishQos1, robotClient, startCentralPeers } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack(afterAll);

describe('the operator commands against a real central serve (mosquitto, DuckLake on PostgreSQL, MinIO)', () => {
  it('lists the robots as their status and heartbeats say, and queries the events they sent, read-only', async () => {
    const { broker, settings } = await startCentralPeers(cleanups, 'central-ops-serve-');
    const serve = await startCentralServe(
      { ...settings, http: { ...settings.http, enabled: true, host: '127.0.0.1', port: 0 } },
      { log: silentLogger() },
    );
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');
    const url = serve.httpUrl!;

    const robot = await robotClient(broker, 'r1-ops');
    cleanups.push(() => robot.endAsync());
    const status = { schema: 'auraison.status/1', fleet: 'lab', state: 'online', status_url: 'http://r1.lab:8080/' };
    await publishQos1(robot, 'auraison/lab/r1/status', JSON.stringify({ ...status, robot: 'r1' }), true);
    const heartbeat = { schema: 'auraison.heartbeat/1', robot: 'r1', fleet: 'lab', outbox: { backlog: 42 } };
    await publishQos1(robot, 'auraison/lab/r1/heartbeat', JSON.stringify(heartbeat));
    const offline = {
      schema: 'auraison.status/1',
      robot: 'r2',
      fleet: 'lab',
      state: 'offline',
      reason: 'connection lost (last will)',
    };
    await publishQos1(robot, 'auraison/lab/r2/status', JSON.stringify(offline), true);
    await publishQos1(robot, 'auraison/lab/r1/events', eventsPayload('r1', 'j1', 1, 100));
    await publishQos1(robot, 'auraison/lab/r2/events', eventsPayload('r2', 'j2', 1, 10));
    await waitFor(() => serve.ingest.counts.batches === 2 && serve.view.robots().length === 2, 'events and robots');

    const robots = await runCli(['central', 'robots', '--url', url]);
    expect(robots.code, robots.stderr).toBe(0);
    expect(robots.stdout).toMatch(/^lab\s+r1\s+online\s+\d+ s ago\s+42\s+http:\/\/r1\.lab:8080\/$/m);
    expect(robots.stdout).toMatch(/^lab\s+r2\s+offline \(connection lost \(last will\)\)\s+never$/m);

    const sql = 'SELECT robot, count(*) AS n, count(DISTINCT seq) AS seqs FROM events GROUP BY robot ORDER BY robot';
    await waitFor(async () => (await serve.view.query(sql)).rows.length === 2, 'the events committed');
    const csv = await runCli(['central', 'query', sql, '--csv', '--url', url]);
    expect(csv.code, csv.stderr).toBe(0);
    expect(csv.stdout).toBe('robot,n,seqs\nr1,100,100\nr2,10,10\n');

    const drop = await runCli(['central', 'query', 'DROP TABLE events', '--url', url]);
    expect(drop.code).toBe(1);
    expect(drop.stderr).toMatch(/read-only here: DROP is refused/);
    const unknown = await runCli(['central', 'query', 'SELECT * FROM nope', '--url', url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/nope/);
    expect((await serve.view.query('SELECT count(*) FROM events')).rows).toEqual([['110']]);
  });
});
