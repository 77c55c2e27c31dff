import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import {
  brokerAndCentral,
  centralConfig,
  centralDaemon,
  FLEET,
  PREFIX,
  playCentral,
  restartableDaemon,
  ROBOT,
  waitForJournal,
} from './central-harness.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';
import { CentralLink } from '../../central-link/index.ts';

const cleanups = cleanupStack();

describe('what the central link sends of the journal', () => {
  it('tells central which records were gone before it got them, and counts them', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const robot = restartableDaemon(broker.url);
    cleanups.push(robot.cleanup);
    // A journal whose oldest segments went before central had them (retention past journal.max_mb), and a
    // cursor that never got past 0.
    const journal = new DurableJournal({ dir: join(robot.dir, 'data', 'log'), segmentBytes: 2048, fsync: 'never' });
    for (let i = 0; i < 60; i++) await journal.append('agent_event', { i, pad: 'x'.repeat(100) });
    journal.prune(40, () => true);
    const firstKept = journal.firstSeq;
    await journal.close();
    expect(firstKept).toBeGreaterThan(1);
    mkdirSync(join(robot.dir, 'data', 'state'), { recursive: true });
    writeFileSync(
      join(robot.dir, 'data', 'state', 'central-outbox.json'),
      JSON.stringify({ journal_id: 'journal-a', acked_seq: 0 }),
    );

    const daemon = await robot.start();
    await waitFor(() => central.received.some((m) => m.topic === `${PREFIX}/events`), 'a batch');
    const first = central.received.find((m) => m.topic === `${PREFIX}/events`)!.json as {
      journal_id: string;
      first_seq: number;
      lost: { from: number; to: number }[];
      records: { seq: number }[];
    };
    expect(first).toMatchObject({ journal_id: 'journal-a', first_seq: 1, lost: [{ from: 1, to: firstKept - 1 }] });
    expect(first.records[0]!.seq).toBe(firstKept);
    const metrics = running(daemon, CentralLink)!.metrics();
    expect(metrics.find((m) => m.name === 'auraison_central_outbox_lost_records_total')!.samples[0]!.value).toBe(
      firstKept - 1,
    );
  });

  it('sends a record larger than the broker takes as its head only, and goes on', async () => {
    const { broker, central } = await brokerAndCentral(cleanups, { extraConfig: 'max_packet_size 20000' });
    const { daemon, stop } = await centralDaemon(broker.url);
    cleanups.push(stop);
    const big = await daemon.journal.append('agent_event', { note: 'x'.repeat(50_000) });
    const after = await daemon.journal.append('agent_event', { note: 'after' });
    await waitForJournal(daemon, central.records);
    const records = central.records();
    expect(records.find((r) => r.seq === big.seq)).toMatchObject({
      kind: 'agent_event',
      omitted: expect.stringContaining('maximum packet size'),
    });
    expect(records.find((r) => r.seq === after.seq)!.data).toEqual({ note: 'after' });
  });

  it('leaves a last will: a daemon killed with -9 shows offline at central, retained', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const dir = tempDir('central-kill-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      stringify({
        data_dir: './data',
        log: { level: 'info' },
        robot: { id: ROBOT, fleet: FLEET },
        api: { enabled: false },
        foxglove: { enabled: false },
        central: centralConfig(broker.url),
      }),
    );
    const daemon = new DaemonProcess(dir.path, config);
    cleanups.push(() => daemon.kill());
    await daemon.waitForLog((l) => l.msg === 'central: connected', 'the link up');
    const central = await playCentral(broker, 'central-kill');
    cleanups.push(central.end);
    const status = () =>
      central.received
        .filter((m) => m.topic === `${PREFIX}/status`)
        .map((m) => m.json as { state: string; reason?: string });
    await waitFor(() => status().some((s) => s.state === 'online'), 'the retained online status');
    await daemon.kill();
    await waitFor(() => status().at(-1)?.state === 'offline', 'the will');
    expect(status().at(-1)!.reason).toMatch(/last will/);
    // Retained: a dashboard that connects now sees it at once.
    const late = await playCentral(broker, 'central-late');
    cleanups.push(late.end);
    await waitFor(() => late.received.some((m) => m.topic === `${PREFIX}/status`), 'the retained status');
    expect(late.received.find((m) => m.topic === `${PREFIX}/status`)!.json).toMatchObject({ state: 'offline' });
  });
});
