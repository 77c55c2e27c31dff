import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { startCentralServe } from '../../central/serve.ts';
import type { CentralServeConfig } from '../../central/config.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { centralDaemon, ROBOT } from '../central/central-harness.ts';
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

interface FakeRobots {
  /** Publishes batch i (seqs i*per+1 .. (i+1)*per) of every robot; resolves on the broker's PUBACKs. */
  send(i: number): Promise<void>;
  /** Resend requests answered. */
  answered: number;
  stop(): void;
}

/**
 * Robots as far as central sees them: events batches of journal `j1`, a heartbeat every 200 ms saying
 * `outbox: {journal_id, acked_seq}` (the seqs the broker PUBACKed), and resend requests answered by publishing
 * those seqs again from the records sent (central-link/outbox.ts does this on a real robot).
 */
async function fakeRobots(broker: Parameters<typeof robotClient>[0], robots: string[], per: number) {
  const client = await robotClient(broker, 'robots-test');
  const acked = new Map(robots.map((r) => [r, 0]));
  const fake: FakeRobots = {
    answered: 0,
    send: async (i) => {
      for (const r of robots) {
        const first = i * per + 1;
        expect(
          await publishQos1(client, `auraison/lab/${r}/events`, eventsPayload(r, 'j1', first, first + per - 1)),
        ).toBe(0);
        acked.set(r, first + per - 1);
      }
    },
    stop: () => clearInterval(beat),
  };
  const beat = setInterval(() => {
    for (const r of robots) {
      const seq = acked.get(r)!;
      const heartbeat = {
        schema: 'auraison.heartbeat/1',
        robot: r,
        fleet: 'lab',
        outbox: { journal_id: 'j1', acked_seq: seq, last_seq: seq, backlog: 0 },
      };
      client.publish(`auraison/lab/${r}/heartbeat`, JSON.stringify(heartbeat), { qos: 0 });
    }
  }, 200);
  await client.subscribeAsync('auraison/lab/+/resend', { qos: 1 });
  client.on('message', (topic, payload) => {
    const robot = topic.split('/')[2]!;
    const m = JSON.parse(payload.toString()) as {
      schema: string;
      journal_id: string;
      from_seq: number;
      to_seq: number;
    };
    expect(m.schema).toBe('auraison.resend/1');
    expect(m.journal_id).toBe('j1');
    const to = Math.min(m.to_seq, acked.get(robot)!);
    if (to < m.from_seq) return;
    fake.answered++;
    void publishQos1(client, `auraison/lab/${robot}/events`, eventsPayload(robot, 'j1', m.from_seq, to));
  });
  cleanups.push(async () => {
    fake.stop();
    await client.endAsync();
  });
  return fake;
}

/**
 * A broker, PostgreSQL and two serve processes on one share group: A a process of its own that commits only after a
 * minute (whatever it takes is unacknowledged when it is killed), B in this one, committing as configured; gap
 * recovery asks after 1 s.
 */
async function slowAndQuick() {
  const broker = await startBroker();
  cleanups.push(() => broker.cleanup());
  const pg = await startPostgres();
  cleanups.push(() => pg.cleanup());
  const dir = tempDir('central-serve-');
  cleanups.push(() => dir.cleanup());
  const settings = serveSettings({ broker, pg, dir: dir.path, extra: 'events:\n  resend_after_s: 1' });
  const slow = { ...settings, lakehouse: { ...settings.lakehouse, commit_ms: 60_000, commit_rows: 1_000_000 } };
  const a = await serveChild(slow, 'central-a');
  cleanups.push(() => killed(a));
  const b = await startCentralServe(settings, { log: silentLogger(), clientId: 'central-b' });
  cleanups.push(() => b.close());
  await waitFor(() => b.intake.connected, 'central b to connect');
  return { broker, a, b };
}

describe('central serve: two processes share the fleet', () => {
  it(
    'one killed (SIGKILL) in a burst and not restarted: the other takes the traffic and has the robots send again what the killed one held; nothing lost or doubled; PostgreSQL restarted mid-burst: caught up',
    { timeout: 180_000 },
    async () => {
      const broker = await startBroker();
      cleanups.push(() => broker.cleanup());
      const pg = await startPostgres();
      cleanups.push(() => pg.cleanup());
      const dir = tempDir('central-serve-');
      cleanups.push(() => dir.cleanup());
      // The default session_expiry_s (0): a killed process's share goes to the others at once.
      const settings = serveSettings({ broker, pg, dir: dir.path, extra: 'events:\n  resend_after_s: 1' });
      expect(settings.mqtt.session_expiry_s).toBe(0);
      // A commits only after a minute: every message it takes is unacknowledged when it is killed, and the
      // broker drops those with its session (eclipse/mosquitto#2662): only a resend brings them back.
      const slow = { ...settings, lakehouse: { ...settings.lakehouse, commit_ms: 60_000, commit_rows: 1_000_000 } };
      const a = await serveChild(slow, 'central-a');
      cleanups.push(() => killed(a));
      const b = await startCentralServe(settings, { log: silentLogger(), clientId: 'central-b' });
      cleanups.push(() => b.close());
      await waitFor(() => b.intake.connected, 'central b to connect');

      const robots = ['r1', 'r2'];
      const PER_BATCH = 50;
      const BATCHES = 120;
      const fake = await fakeRobots(broker, robots, PER_BATCH);
      let sent = 0;
      const burst = (async () => {
        for (let i = 0; i < 60; i++, sent++) await fake.send(i);
      })();
      await waitFor(() => sent >= 30, 'half the burst sent');
      await killed(a); // in the burst, with the messages it took unacknowledged; it is not restarted
      await burst;
      const bBefore = b.ingest.counts.batches;
      for (let i = 60; i < 80; i++) await fake.send(i);
      // B alone takes what comes while A is gone.
      await waitFor(() => b.ingest.counts.batches >= bBefore + 40, 'central b to take the traffic');
      // PostgreSQL goes away mid-burst: nothing is acknowledged meanwhile, and B catches up after.
      await pg.stop('SIGKILL');
      for (let i = 80; i < 100; i++) await fake.send(i);
      await waitFor(() => b.ingest.lastError !== undefined, 'central b to see the catalog gone');
      await pg.restart();
      for (let i = 100; i < BATCHES; i++) await fake.send(i);
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
      // What A held came back only because B asked for it.
      expect(fake.answered).toBeGreaterThan(0);
      expect(b.resend!.counts.resends_asked).toBeGreaterThan(0);
      // mosquitto deals a shared subscription's messages round robin: whose batches A held (r1's, r2's or both) turns
      // on what else went through the group before, central's probe of the broker's ACL included.
      expect(b.view.robots().filter((r) => r.resend !== undefined).length).toBeGreaterThan(0);
      expect(b.view.ingest!()).toMatchObject({
        resends_asked: b.resend!.counts.resends_asked,
        failed_commits: b.ingest.counts.failed_commits,
      });
    },
  );

  it('with a real daemon: one process killed with events it took unacknowledged, not restarted; the daemon sends them again when asked; every journal record once', async () => {
    const { broker, a, b } = await slowAndQuick();
    const { daemon } = await centralDaemon(broker.url);
    const outbox = () => (daemon.status().components.central?.details as { outbox: { acked_seq: number } }).outbox;
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) await daemon.journal.append('agent_event', { i, pad: 'x'.repeat(50) });
    };
    await append(1000);
    await waitFor(() => outbox().acked_seq >= daemon.journal.lastSeq, 'the broker to take the first thousand');
    await killed(a); // what A took is gone with its session
    await append(1000);
    await waitFor(
      async () => {
        const { rows } = await b.view.query(`SELECT count(*) FROM events WHERE robot = '${ROBOT}'`);
        return Number(rows[0]![0]) >= daemon.journal.lastSeq;
      },
      'every journal record in the lake',
      60_000,
    );
    const last = String(daemon.journal.lastSeq);
    const { rows } = await b.view.query(
      `SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE robot = '${ROBOT}'`,
    );
    expect(rows).toEqual([[last, last, '1', last]]);
    expect(b.resend!.counts.resends_asked).toBeGreaterThan(0);
  });

  it('a robot back from an outage with its backlog while one process is killed mid-batch: the other takes over and asks for what the killed one held; every journal record once', async () => {
    const { broker, a, b } = await slowAndQuick();
    // Small batches: the backlog is many messages, shared between A and B as they come.
    const { daemon } = await centralDaemon(broker.url, {}, { outbox: { batch_records: 10 } });
    const append = async (n: number) => {
      for (let i = 0; i < n; i++) await daemon.journal.append('agent_event', { i, pad: 'x'.repeat(50) });
    };
    await append(100);
    const inLake = async () => {
      const { rows } = await b.view.query(`SELECT count(*) FROM events WHERE robot = '${ROBOT}'`);
      return Number(rows[0]![0]);
    };
    await waitFor(async () => (await inLake()) > 0, "B's share of the first records in the lake");
    // The outage: the broker goes away; the robot keeps appending to its journal.
    await broker.stop();
    await append(2000);
    await broker.restart();
    // The robot drains its backlog; once B has taken part of it, A (holding its share unacknowledged) is killed.
    const bBefore = b.ingest.counts.batches;
    await waitFor(() => b.ingest.counts.batches >= bBefore + 20, 'central b to take part of the backlog', 30_000);
    await killed(a);
    await append(100);
    await waitFor(async () => (await inLake()) >= daemon.journal.lastSeq, 'every journal record in the lake', 90_000);
    const last = String(daemon.journal.lastSeq);
    const { rows } = await b.view.query(
      `SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE robot = '${ROBOT}'`,
    );
    expect(rows).toEqual([[last, last, '1', last]]);
    expect(b.resend!.counts.resends_asked).toBeGreaterThan(0);
  });
});
