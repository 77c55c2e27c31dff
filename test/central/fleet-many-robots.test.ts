import { join } from 'node:path';
import mqtt from 'mqtt';
import { describe, expect, it } from 'vitest';
import { EVENTS_SCHEMA } from '../../central-link/index.ts';
import { publishQos1 as puback } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { fleetBroker, fleetLogin, robotLink, startFleetServe, type RobotLink } from '../helpers/fleet-rig.ts';
import { startPostgres } from '../helpers/postgres.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack();
const FLEET = 'many';
const ROBOTS = Array.from({ length: 20 }, (_, i) => `r${String(i).padStart(2, '0')}`);
const EVENTS_PER_ROBOT = 60;

describe('twenty robot links against one central serve', () => {
  it('puts every event of every robot in the lake once, and no login writes as another robot', async () => {
    const dir = tempDir('fleet-many-');
    cleanups.push(dir.cleanup);
    const broker = await fleetBroker(FLEET, ROBOTS);
    cleanups.push(broker.cleanup);
    const pg = await startPostgres();
    cleanups.push(pg.cleanup);
    const serve = await startFleetServe({ dir: dir.path, broker, fleet: FLEET, pg });
    cleanups.push(serve.stop);
    const links: RobotLink[] = [];
    for (const id of ROBOTS) {
      const link = await robotLink({ id, fleet: FLEET, url: broker.url, dataDir: join(dir.path, id) });
      cleanups.push(link.stop);
      links.push(link);
    }
    await waitFor(() => links.every((l) => l.online()), 'every link to be online', 30_000);

    // Appended in three bursts while the links run, so batches of several sizes go up.
    const event = (robot: string, n: number) => ({
      kind: 'agent_event',
      data: { event_id: `${robot}-${n}`, run_id: 'run-1', kind: 'tool.call', payload: { n } },
    });
    for (let burst = 0; burst < 3; burst++)
      await Promise.all(
        links.map((l) =>
          l.journal.appendMany(Array.from({ length: EVENTS_PER_ROBOT / 3 }, (_, i) => event(l.id, burst * 20 + i))),
        ),
      );

    // r01's login, on r00's events topic and on its own with a payload naming r00.
    const attacker = await mqtt.connectAsync(broker.url, {
      protocolVersion: 5,
      clientId: 'r01-attacker',
      ...fleetLogin('r01'),
    });
    cleanups.push(() => attacker.endAsync());
    const forged = JSON.stringify({
      schema: EVENTS_SCHEMA,
      robot: 'r00',
      fleet: FLEET,
      journal_id: 'forged',
      first_seq: 1,
      last_seq: 1,
      records: [{ seq: 1, ts: '1', kind: 'agent_event', data: { event_id: 'forged' } }],
    });
    expect(await puback(attacker, `auraison/${FLEET}/r00/events`, forged)).toBe(0x87);
    // The broker takes this one (r01's own topic); central refuses it, as it says in its log.
    expect(await puback(attacker, `auraison/${FLEET}/r01/events`, forged)).toBe(0);
    await waitFor(
      () => serve.output().includes(`the payload says ${FLEET}/r00, the topic ${FLEET}/r01`),
      'central to refuse the payload r01 sent as r00',
    );

    let counts = new Map<string, { events: number; distinct: number }>();
    await waitFor(
      async () => {
        counts = await serve.counts();
        return ROBOTS.every((r) => (counts.get(r)?.events ?? 0) >= EVENTS_PER_ROBOT);
      },
      'every event in the lake',
      60_000,
    );
    // Each robot's events once: as many rows as seqs, no duplicate, none from the forged payloads.
    expect(Object.fromEntries(counts)).toEqual(
      Object.fromEntries(ROBOTS.map((r) => [r, { events: EVENTS_PER_ROBOT, distinct: EVENTS_PER_ROBOT }])),
    );
    const res = await fetch(`${serve.url}/api/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sql: `SELECT count(*), count(DISTINCT robot || '/' || seq), min(seq), max(seq), count(DISTINCT journal_id),
                count(*) FILTER (WHERE data LIKE '%forged%') FROM events WHERE fleet = '${FLEET}'`,
      }),
    });
    const [[total, distinct, min, max, journals, fake]] = ((await res.json()) as { rows: number[][] }).rows as [
      number[],
    ];
    expect([total, distinct, min, max, journals, fake].map(Number)).toEqual([
      ROBOTS.length * EVENTS_PER_ROBOT,
      ROBOTS.length * EVENTS_PER_ROBOT,
      1,
      EVENTS_PER_ROBOT,
      ROBOTS.length,
      0,
    ]);
  }, 180_000);
});
