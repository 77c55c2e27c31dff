import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { fleetHttp, fleetHttpUrl } from '../../central/http.ts';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { centralConfig, waitOnline } from '../central/central-harness.ts';
import { testCommandKeyFile } from '../helpers/command-key.ts';
import { cleanupStack, runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { startBroker, type Broker } from '../helpers/mosquitto.ts';
import { FleetDouble } from './fleet-double.ts';

const cleanups = cleanupStack();

describe('central query and central robots, against central serve’s HTTP API', () => {
  const view = new FleetDouble();
  let app: FastifyInstance;
  let url: string;
  beforeAll(async () => {
    app = await fleetHttp(view, { host: '127.0.0.1', port: 0 });
    url = fleetHttpUrl(app);
  });
  afterAll(() => app.close());

  it('prints a fleet query as a table, as JSON and as CSV', async () => {
    view.answer = () => ({
      columns: ['robot', 'count_star()'],
      rows: [
        ['tb1', 120n],
        ['tb2', 7n],
      ],
    });
    const sql = 'SELECT robot, count(*) FROM "/odom" GROUP BY robot';
    const table = await runCli(['central', 'query', sql, '--url', url]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/robot \| count_star\(\)\n-+-\+-+\ntb1 +\| 120\s*\ntb2 +\| 7\s*\n\(2 rows\)/);
    const json = await runCli(['central', 'query', sql, '--url', url, '--json']);
    expect(JSON.parse(json.stdout)).toMatchObject({
      columns: [{ name: 'robot' }, { name: 'count_star()' }],
      rows: [
        ['tb1', 120],
        ['tb2', 7],
      ],
    });
    const csv = await runCli(['central', 'query', sql, '--url', url, '--csv']);
    expect(csv.stdout).toBe('robot,count_star()\ntb1,120\ntb2,7\n');
    expect(view.queries.at(-1)).toBe(sql);
  });

  it('says a writing statement is refused, and runs nothing', async () => {
    const before = view.queries.length;
    const r = await runCli(['central', 'query', 'DELETE FROM events', '--url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/read-only here: DELETE is refused/);
    expect(view.queries.length).toBe(before);
  });

  it('lists the robots with their state, heartbeat, backlog, sync and status page, and the uploads', async () => {
    view.robotList = [
      {
        fleet: 'lab',
        robot: 'tb1',
        online: true,
        last_heartbeat: new Date(Date.now() - 3000).toISOString(),
        backlog: 12,
        sync: { files_waiting: 2 },
        status_url: 'http://10.0.0.5:8080/',
      },
      { fleet: 'lab', robot: 'tb2', online: false, reason: 'connection lost (last will)' },
    ];
    view.counts = { offered: 5, granted: 4, stored: 3, rejected: 1, bytes_stored: 4096 };
    const r = await runCli(['central', 'robots', '--url', url]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/tb1\s+online\s+\d s ago\s+12\s+files_waiting 2\s+http:\/\/10\.0\.0\.5:8080\//);
    expect(r.stdout).toMatch(/tb2\s+offline \(connection lost \(last will\)\)\s+never/);
    expect(r.stdout).toMatch(
      /2 robot\(s\), 1 online; uploads: offered 5, granted 4, stored 3, rejected 1, bytes stored 4096/,
    );
    const json = JSON.parse((await runCli(['central', 'robots', '--url', url, '--json'])).stdout) as unknown;
    expect(json).toEqual({ robots: view.robotList, uploads: view.counts });
  });

  it('finds central serve from central.yaml’s http section', async () => {
    const dir = tempDir('central-yaml-');
    cleanups.push(dir.cleanup);
    const file = join(dir.path, 'central.yaml');
    writeFileSync(
      file,
      stringify({
        mqtt: { url: 'mqtt://127.0.0.1:1883' },
        http: { host: '127.0.0.1', port: Number(new URL(url).port) },
      }),
    );
    const r = await runCli(['central', 'robots', '--config', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ robots: [{ robot: 'tb1' }, { robot: 'tb2' }] });
  });

  it('says how to start central serve when none answers', async () => {
    const port = await deadPort();
    const r = await runCli(['central', 'robots', '--url', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /central serve is not answering at http:\/\/127\.0\.0\.1:\d+ \(--url; ECONNREFUSED\): start it with `auraison-edge central serve --config central\.yaml`/,
    );
  });
});

/** A robot daemon run from a config file (config from central is laid over a file), its central link on. */
async function robotDaemon(broker: Broker, robot: string, stack: Cleanup[]) {
  const dir = tempDir('central-ops-robot-');
  const file = join(dir.path, 'edge.yaml');
  writeFileSync(
    file,
    stringify({
      data_dir: './data',
      robot: { id: robot, fleet: 'lab' },
      api: { enabled: false },
      foxglove: { enabled: false },
      central: centralConfig(broker.url),
    }),
  );
  const daemon = new Daemon({
    config: loadConfigFile(file, {}).config,
    configFile: file,
    log: pino({ level: 'silent' }),
    cwd: dir.path,
  });
  stack.push(async () => {
    await daemon.close();
    dir.cleanup();
  });
  await daemon.start();
  await waitOnline(daemon);
  return daemon;
}

describe('central intent and central config push, against a real mosquitto and a robot', () => {
  const stack: Cleanup[] = [];
  let broker: Broker;
  /** Central's signing key, the one the robot pins (centralConfig): the robot takes no unsigned command. */
  let key: string;
  beforeAll(async () => {
    broker = await startBroker();
    stack.push(() => broker.cleanup());
    const dir = tempDir('central-ops-key-');
    stack.push(dir.cleanup);
    key = testCommandKeyFile(dir.path);
    await robotDaemon(broker, 'tb1', stack);
  });
  afterAll(() => runCleanups(stack));
  const send = (...args: string[]) =>
    runCli(['central', ...args, '--broker', broker.url, '--fleet', 'lab', '--timeout-s', '20', '--command-key', key]);

  it('sends an intent, prints its ack, then its run until it ends', async () => {
    const r = await send('intent', '--robot', 'tb1', 'stop');
    expect(r.code, r.stderr).toBe(0);
    const runId = /^ack accepted: run (\S+) pending$/m.exec(r.stdout)?.[1];
    expect(r.stdout).toMatch(/^intent \S+ \(stop\) sent to tb1\n/);
    expect(runId, r.stdout).toBeDefined();
    // The run's states come from the robot's events, which may pass its ack on the way.
    expect(r.stdout).toContain(`run ${runId}: running\n`);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe(`run ${runId}: succeeded`);
  });

  it('prints a refused intent with its reason, and exits 1', async () => {
    const r = await send('intent', '--robot', 'tb1', 'no_such_skill', '--json');
    expect(r.code).toBe(1);
    const lines = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, { status?: string }>);
    expect(lines[0]).toHaveProperty('sent');
    expect(lines[1]!.ack).toMatchObject({ status: 'refused', kind: 'intent' });
  });

  it('says, when no answer comes, that no robot of that name ever connected', async () => {
    const r = await runCli([
      'central',
      'intent',
      '--robot',
      'nobody',
      'stop',
      '--broker',
      broker.url,
      '--fleet',
      'lab',
      '--timeout-s',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /no answer, and robot nobody of fleet lab has never connected to this broker \(no retained status on auraison\/lab\/nobody\/status\)/,
    );
  });

  it('pushes a config file and prints the robot’s ack: applied, then refused with the key path', async () => {
    const dir = tempDir('central-ops-config-');
    stack.push(dir.cleanup);
    const good = join(dir.path, 'good.yaml');
    writeFileSync(good, 'journal:\n  retain_days: 3\n');
    const applied = await send('config', 'push', '--robot', 'tb1', good, '--id', 'cfg-ops-1');
    expect(applied.code, applied.stderr + applied.stdout).toBe(0);
    expect(applied.stdout).toMatch(/config cfg-ops-1 \(.*good\.yaml\) sent to tb1\nack applied/);
    const bad = join(dir.path, 'bad.yaml');
    writeFileSync(bad, 'journal:\n  retain_days: -1\n');
    const refused = await send('config', 'push', '--robot', 'tb1', bad);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/ack refused/);
    expect(refused.stdout).toMatch(/journal\.retain_days/);
  });
});
