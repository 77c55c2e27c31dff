import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CentralLink } from '../../central-link/index.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import type { RunState } from '../../daemon/contract/schemas.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { skillIntent } from '../helpers/intents.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  brokerAndCentral,
  centralDaemon,
  PREFIX,
  playCentral,
  restartableDaemon,
  sendIntent,
  waitForJournal,
  waitOnline,
} from './central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';

const cleanups = cleanupStack();

const agentOf = (daemon: Daemon) => daemon.ports.get(PORTS.agent)!;
const centralHealth = (daemon: Daemon) => daemon.status().components.central!;

describe('the central link when the network fails', () => {
  it('runs edge first with no broker, and sends everything the journal kept once the broker is there', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    // Central's session exists at the broker before the robot publishes (it subscribes once, persistently).
    const central = await playCentral(broker);
    await central.end();
    await broker.stop();
    const { daemon, stop } = await centralDaemon(broker.url, {}, {}, false);
    cleanups.push(stop);

    // Offline: degraded alone, saying so; intents from the API still run and are journaled.
    await waitFor(() => centralHealth(daemon).state === 'degraded', 'central degraded');
    for (let i = 0; i < 3; i++) await agentOf(daemon).submitIntent(skillIntent('stop', {}), 'http');
    await waitFor(() => /ECONNREFUSED|could not connect/.test(centralHealth(daemon).reason ?? ''), 'the reason');
    expect(centralHealth(daemon).reason).toMatch(/journal record\(s\) wait for central/);
    expect(daemon.status().components.agent!.state).not.toBe('failed');

    await broker.restart();
    const back = await playCentral(broker);
    cleanups.push(back.end);
    await waitForJournal(daemon, back.records);
    expect(centralHealth(daemon).state).toBe('running');
    // Central may have a batch before the robot has the broker's PUBACK for it.
    await waitFor(
      () => (centralHealth(daemon).details as { outbox: { backlog: number } }).outbox.backlog === 0,
      'the outbox to be acknowledged',
    );
  });

  it('loses nothing while the link flaps: every record goes up, every intent sent meanwhile runs once', async () => {
    const { central, proxy } = await brokerAndCentral(cleanups, { proxy: true });
    const { daemon, stop } = await centralDaemon(proxy.url, {}, { outbox: { batch_records: 5, max_inflight: 2 } });
    cleanups.push(stop);

    const sent: string[] = [];
    for (let round = 0; round < 6; round++) {
      // Records made on the robot and intents sent by central, while the link is cut under them.
      const local = Array.from({ length: 4 }, () => agentOf(daemon).submitIntent(skillIntent('stop', {}), 'http'));
      const intent = skillIntent('stop', {});
      sent.push(intent.intent_id);
      await sendIntent(central.client, intent);
      const connects = connectsOf(daemon);
      proxy.cut();
      await Promise.all(local);
      await waitFor(() => connectsOf(daemon) > connects, 'the robot back on the link');
      await waitOnline(daemon);
    }
    await waitForJournal(daemon, central.records);
    // The broker kept each intent for the robot's session; each became exactly one run, acked.
    await waitFor(
      () => sent.every((id) => central.acks().some((a) => a.intent_id === id && a.status !== 'pending')),
      'an ack per intent',
    );
    const runs = agentOf(daemon).listRuns({ limit: 1000 });
    for (const id of sent) expect(runs.filter((r) => r.intent_id === id)).toHaveLength(1);
    // One connection per cut, and one more for each connect that a loaded machine let time out.
    expect(proxy.connections).toBeGreaterThanOrEqual(7);
    const seqs = central.records().map((r) => r.seq);
    expect(new Set(seqs).size).toBe(daemon.journal.lastSeq);
  });

  it('takes the intents central sent while the robot was away, from its persistent session', async () => {
    const { central, proxy } = await brokerAndCentral(cleanups, { proxy: true });
    const { daemon, stop } = await centralDaemon(proxy.url);
    cleanups.push(stop);
    proxy.block();
    await waitFor(() => centralHealth(daemon).state === 'degraded', 'the robot offline');
    const intents = [skillIntent('stop', {}), skillIntent('stop', {})];
    for (const intent of intents) await sendIntent(central.client, intent);
    proxy.unblock();
    await waitFor(
      () => intents.every((i) => central.acks().some((a) => a.intent_id === i.intent_id && a.status === 'accepted')),
      'both intents accepted',
    );
    // The will told central the robot had gone; the online status says it is back.
    const statuses = () =>
      central.received
        .filter((m) => m.topic === `${PREFIX}/status`)
        .map((m) => m.json as { state: string; reason?: string });
    await waitFor(() => statuses().at(-1)!.state === 'online', 'the online status');
    expect(statuses().some((s) => s.state === 'offline' && /last will/.test(s.reason ?? ''))).toBe(true);
  });

  it('keeps its cursor across a restart: records central acknowledged are not sent again', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const robot = restartableDaemon(broker.url);
    cleanups.push(robot.cleanup);
    let daemon = await robot.start();
    // Each stop is the operator's stop, which cancels a stop run still going: each ends, one way or the other.
    for (let i = 0; i < 3; i++) await agentOf(daemon).submitIntent(skillIntent('stop', {}), 'http');
    await waitFor(
      () =>
        agentOf(daemon)
          .listRuns()
          .every((r) => r.status === 'succeeded' || r.status === 'cancelled'),
      'the runs to end',
    );
    await waitForJournal(daemon, central.records);
    await robot.stop();
    // The clean stop said so, retained.
    const last = central.received.filter((m) => m.topic === `${PREFIX}/status`).at(-1)!.json as {
      state: string;
      reason: string;
    };
    expect(last).toMatchObject({ state: 'offline', reason: 'the daemon stopped' });
    const cursor = JSON.parse(readFileSync(join(robot.dir, 'data', 'state', 'central-outbox.json'), 'utf8')) as {
      journal_id: string;
      acked_seq: number;
    };
    // Everything central got was acknowledged: the cursor is at the last record it holds.
    const before = Math.max(...central.records().map((r) => r.seq));
    expect(cursor.acked_seq).toBe(before);

    const batches = central.received.filter((m) => m.topic === `${PREFIX}/events`).length;
    daemon = await robot.start();
    await agentOf(daemon).submitIntent(skillIntent('stop', {}), 'http');
    await waitForJournal(daemon, central.records);
    const after = central.received
      .filter((m) => m.topic === `${PREFIX}/events`)
      .slice(batches)
      .map((m) => m.json as { first_seq: number; journal_id: string });
    expect(after.length).toBeGreaterThan(0);
    expect(Math.min(...after.map((b) => b.first_seq))).toBe(before + 1);
    expect(after.every((b) => b.journal_id === cursor.journal_id)).toBe(true);
  });

  it('refuses intents with the reason when the robot runs no agent, and keeps the link', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const { daemon, stop } = await centralDaemon(broker.url, { agent: { enabled: false } });
    cleanups.push(stop);
    const intent = skillIntent('stop', {});
    await sendIntent(central.client, intent);
    await waitFor(() => central.acks().some((a) => a.intent_id === intent.intent_id), 'the ack');
    expect(central.acks()[0]).toMatchObject({
      status: 'refused',
      error: { code: 'unavailable', message: expect.stringContaining('agent.enabled: false') },
    });
    expect(centralHealth(daemon).state).toBe('running');
  });

  it('says why a broker refuses the robot, and never crashes', async () => {
    const broker = await startBroker({ extraConfig: 'allow_anonymous false' });
    cleanups.push(broker.cleanup);
    const { daemon, stop } = await centralDaemon(
      broker.url,
      {},
      { username: 'robot', password: 'wrong-pass-4711' },
      false,
    );
    cleanups.push(stop);
    await waitFor(() => /refused the connection/.test(centralHealth(daemon).reason ?? ''), 'the refusal');
    expect(centralHealth(daemon).reason).toMatch(/Not authorized|Bad User Name or Password/);
    expect(JSON.stringify(daemon.status())).not.toContain('wrong-pass-4711');
    // It keeps trying, with backoff: attempts are counted.
    await waitFor(
      () =>
        (daemon.status().components.central!.details as { connects: number }).connects === 0 &&
        connectionFailures(daemon) >= 2,
      'retries',
    );
  });

  it("answers a run's final state to central even when the run ends after the ack", async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const { daemon, stop } = await centralDaemon(broker.url, { sim: { enabled: true, speed: 20 } });
    cleanups.push(stop);
    const dock = running(daemon, TurtlebotMazeSim)!.namedPoses.charging_dock!;
    const intent = skillIntent('navigate_to', { x: dock.x, y: dock.y });
    await sendIntent(central.client, intent);
    await waitFor(() => central.acks().some((a) => a.intent_id === intent.intent_id), 'the ack');
    const ack = central.acks().find((a) => a.intent_id === intent.intent_id)!;
    expect(ack.status).toBe('accepted');
    const finalState = () =>
      central
        .records()
        .find(
          (r) =>
            r.kind === 'run_state' &&
            (r.data as RunState).run_id === ack.run_id &&
            (r.data as RunState).status === 'succeeded',
        );
    await waitFor(() => finalState() !== undefined, "the run's succeeded state at central", 60_000);
  });
});

function connectsOf(daemon: Daemon): number {
  return (daemon.status().components.central!.details as { connects: number }).connects;
}

function connectionFailures(daemon: Daemon): number {
  const metrics = running(daemon, CentralLink)!.metrics();
  return metrics.find((m) => m.name === 'auraison_central_connection_failures_total')!.samples[0]!.value;
}
