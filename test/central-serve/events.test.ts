import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.ts';
import { startCentralServe } from '../../central/serve.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';
import { eventsPayload, publishQos1, robotClient, serveSettings } from './fixtures.ts';

const cleanups = cleanupStack(afterAll);

describe('central serve: events into the fleet lakehouse', () => {
  it('writes each (robot, journal, seq) once, whatever is sent twice; lost ranges kept; garbage refused', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const pg = await startPostgres();
    cleanups.push(() => pg.cleanup());
    const dir = tempDir('central-serve-');
    cleanups.push(() => dir.cleanup());
    const serve = await startCentralServe(serveSettings({ broker, pg, dir: dir.path }), { log: silentLogger() });
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');
    const robot = await robotClient(broker, 'r1-test');
    cleanups.push(() => robot.endAsync());
    const topic = 'auraison/lab/r1/events';
    expect(await publishQos1(robot, topic, eventsPayload('r1', 'j1', 1, 100))).toBe(0);
    // the same batch again (a redelivery), an overlapping one, one with a gap reported lost, twice
    expect(await publishQos1(robot, topic, eventsPayload('r1', 'j1', 1, 100))).toBe(0);
    expect(await publishQos1(robot, topic, eventsPayload('r1', 'j1', 50, 150))).toBe(0);
    const gap = [{ from: 160, to: 169 }];
    expect(await publishQos1(robot, topic, eventsPayload('r1', 'j1', 151, 200, gap))).toBe(0);
    expect(await publishQos1(robot, topic, eventsPayload('r1', 'j1', 151, 200, gap))).toBe(0);
    // garbage: not JSON, a bad schema, another robot's name: refused (PUBACK 0x99), and r2's events still land
    expect(await publishQos1(robot, topic, 'not json')).toBe(0);
    expect(await publishQos1(robot, topic, JSON.stringify({ schema: 'x' }))).toBe(0);
    expect(await publishQos1(robot, topic, eventsPayload('r9', 'j1', 1, 2))).toBe(0);
    expect(await publishQos1(robot, 'auraison/lab/r2/events', eventsPayload('r2', 'j7', 1, 10))).toBe(0);
    // The broker's PUBACK says only that the broker has it: central's own refusals are counted.
    await waitFor(() => serve.garbage.count === 3 && serve.ingest.counts.batches === 6, 'every message handled');
    expect(serve.intake.counts.refused).toBe(3);
    const counts = await serve.view.query(
      'SELECT robot, count(*) AS n, count(DISTINCT seq) AS d, min(seq), max(seq) FROM events GROUP BY robot ORDER BY robot',
    );
    expect(counts.rows).toEqual([
      ['r1', '190', '190', '1', '200'],
      ['r2', '10', '10', '1', '10'],
    ]);
    const lost = await serve.view.query('SELECT robot, journal_id, from_seq, to_seq FROM lost_ranges');
    expect(lost.rows).toEqual([['r1', 'j1', '160', '169']]);
    const recent = await serve.view.recentEvents(5);
    expect(recent).toHaveLength(5);
    expect(recent[0]).toMatchObject({ kind: 'agent_event' });
  });
});

describe('central serve: the lake on a local DuckDB file (a laptop)', () => {
  it('keeps its catalog in a DuckDB file and its data in a local dir, and keeps events across a restart', async () => {
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const dir = tempDir('central-serve-local-');
    cleanups.push(() => dir.cleanup());
    const settings = serveSettings({ broker, dir: dir.path });
    const robot = await robotClient(broker, 'r1-local');
    cleanups.push(() => robot.endAsync());
    for (const round of [1, 2]) {
      const serve = await startCentralServe(settings, { log: silentLogger(), clientId: 'central-local' });
      await waitFor(() => serve.intake.connected, 'central serve to connect');
      await publishQos1(robot, 'auraison/lab/r1/events', eventsPayload('r1', 'j1', 1, 50 * round));
      await waitFor(() => serve.ingest.counts.batches === 1, 'the batch committed');
      const { rows } = await serve.view.query('SELECT count(*), count(DISTINCT seq) FROM events');
      expect(rows).toEqual([[String(50 * round), String(50 * round)]]);
      await serve.close();
    }
    expect(existsSync(join(dir.path, 'fleet.ducklake'))).toBe(true);
  });
});
