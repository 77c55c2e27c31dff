import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { startCentralServe } from '../../central/serve.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { centralClient, startBroker } from '../helpers/mosquitto.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { centralDaemon, ROBOT } from '../central/central-harness.ts';
import { serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

describe('central serve: a broker that keeps no backlog for central', () => {
  it("drops what central has no room for, and central gets it from the robot's journal: every record once", async () => {
    // A broker that queues 20 messages for a client past its in-flight window (central acl's conf: 1000).
    const broker = await startBroker({ extraConfig: 'max_queued_messages 20\nsys_interval 1' });
    cleanups.push(() => broker.cleanup());
    // The broker's own count of the messages it dropped for want of room.
    const sys = await centralClient(broker.url, ['$SYS/broker/publish/messages/dropped']);
    cleanups.push(sys.end);
    const dropped = () => Number(sys.received.at(-1)?.text ?? 0);
    const pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    const dir = tempDir('broker-queue-');
    cleanups.push(() => dir.cleanup());
    const settings = serveSettings({ broker, pg, dir: dir.path, extra: 'events:\n  resend_after_s: 1' });
    // Central commits every 3 s: its window (100 messages unacknowledged) fills, then the broker's queue.
    const slow = {
      ...settings,
      mqtt: { ...settings.mqtt, receive_maximum: 100 },
      lakehouse: { ...settings.lakehouse, commit_ms: 3000, commit_rows: 1_000_000 },
    };
    const central = await startCentralServe(slow, { log: silentLogger(), clientId: 'central-a' });
    cleanups.push(() => central.close());
    await waitFor(() => central.intake.connected, 'central to connect');
    // A message a record: 600 messages, past the window and the queue.
    const { daemon } = await centralDaemon(broker.url, {}, { outbox: { batch_records: 1 } });
    for (let i = 0; i < 600; i++) await daemon.journal.append('agent_event', { i });
    const outbox = () => (daemon.status().components.central?.details as { outbox: { acked_seq: number } }).outbox;
    await waitFor(() => outbox().acked_seq >= 600, 'the broker to take every record');
    await waitFor(
      async () => {
        const { rows } = await central.view.query(`SELECT count(*) FROM events WHERE robot = '${ROBOT}'`);
        return Number(rows[0]![0]) >= daemon.journal.lastSeq;
      },
      'every journal record in the lake',
      90_000,
    );
    const last = String(daemon.journal.lastSeq);
    const { rows } = await central.view.query(
      `SELECT count(*), count(DISTINCT seq), min(seq), max(seq) FROM events WHERE robot = '${ROBOT}'`,
    );
    expect(rows).toEqual([[last, last, '1', last]]);
    await waitFor(() => dropped() > 0, 'the broker to say it dropped messages');
    expect(central.resend!.counts.resends_asked).toBeGreaterThan(0);
  });
});
