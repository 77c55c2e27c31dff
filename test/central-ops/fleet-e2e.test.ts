import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeCommandKey } from '../../central/command-signer.ts';
import { startCentralServe, type CentralServe } from '../../central/serve.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { listSyncFiles, type SyncFile } from '../../daemon/lakehouse/sync-files.ts';
import { pino } from 'pino';
import { centralConfig } from '../central/central-harness.ts';
import { startCentralPeers } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli } from '../helpers/cli.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { objectSha256 } from '../central-link-sync/sync-harness.ts';

const cleanups = cleanupStack(afterAll);
const ROBOTS = ['tb1', 'tb2', 'tb3'];

describe('a lab’s fleet end to end: three robots, two central serve processes', () => {
  it('drives, records and syncs; the fleet query equals each robot’s own; events once; bags listed with keys and sha256', async () => {
    const { broker, minio, dir, settings } = await startCentralPeers(cleanups, 'fleet-e2e-');
    // Central signs what it sends (grants, stored, resends, intents) with one key; each robot pins its public key.
    const commandKey = join(dir.path, 'central-command.pem');
    const publicKey = writeCommandKey(commandKey);
    settings.mqtt.command_key = commandKey;
    const serves: CentralServe[] = [];
    // What central refuses, and why: said when the fleet does not settle.
    const warnings: string[] = [];
    const log = pino({ level: 'warn' }, { write: (line: string) => void warnings.push(line) });
    for (const [i, http] of [true, false].entries()) {
      const serve = await startCentralServe(
        { ...settings, http: { ...settings.http, enabled: http, host: '127.0.0.1', port: 0 } },
        { log, clientId: `central-${i}` },
      );
      cleanups.push(() => serve.close());
      serves.push(serve);
    }
    const url = serves[0]!.httpUrl!;

    const robots: (Awaited<ReturnType<typeof startSimDaemon>> & { robot: string; dataDir: string })[] = [];
    for (const robot of ROBOTS) {
      const started = await startSimDaemon(cleanups, {
        speed: 4,
        prefix: `fleet-e2e-${robot}-`,
        config: {
          robot: { id: robot, fleet: 'lab' },
          recorder: { enabled: true, min_free_bytes: 0 },
          central: centralConfig(broker.url, { sync: { enabled: true, offers_per_s: 50 }, command_keys: [publicKey] }),
        },
      });
      robots.push({ robot, ...started, dataDir: join(started.dir, 'data') });
    }
    await waitFor(() => serves[0]!.view.robots().filter((r) => r.online).length === 3, 'three robots online');

    // Each robot drives to its charging dock, sent by the operator's command through the broker.
    const drives = await Promise.all(
      robots.map(({ robot, dock }) =>
        runCli([
          'central',
          'intent',
          '--robot',
          robot,
          'navigate_to',
          '--params',
          JSON.stringify({ x: dock.x, y: dock.y }),
          '--broker',
          broker.url,
          '--fleet',
          'lab',
          '--timeout-s',
          '240',
          '--command-key',
          commandKey,
        ]),
      ),
    );
    for (const d of drives) expect(d.code, d.stdout + d.stderr).toBe(0);

    // Recording stops and its last split is sealed: what each robot has, central must have.
    for (const { daemon } of robots) {
      const recorder = daemon.ports.get(PORTS.recorder)!;
      recorder.pause();
      await recorder.split();
    }
    const synced = new Map<string, SyncFile[]>();
    for (const { robot, dataDir } of robots) {
      const stored = async () => {
        const rows = await listSyncFiles(dataDir);
        synced.set(robot, rows);
        return (
          rows.some((r) => r.kind === 'bag') && rows.every((r) => r.state === 'stored' || r.state === 'superseded')
        );
      };
      await waitFor(stored, `${robot}: every file stored at central`, 180_000).catch((error: Error) => {
        const files = synced.get(robot)?.map((r) => `${r.kind} ${r.state} ${r.path}`);
        const counts = serves.map((s) => JSON.stringify(s.view.uploads()));
        throw new Error(
          `${error.message}\nits files:\n${files?.join('\n')}\ncentral's uploads: ${counts.join(', ')}\n${warnings.slice(0, 5).join('')}`,
        );
      });
    }

    // The fleet query equals each robot's own count (the robot's "/odom" is its table topic_odom, kept by that name).
    const fleet = await runCli([
      'central',
      'query',
      'SELECT robot, count(*) AS n FROM topic_odom GROUP BY robot ORDER BY robot',
      '--csv',
      '--url',
      url,
    ]);
    expect(fleet.code, fleet.stderr).toBe(0);
    const own: string[] = [];
    for (const { robot, dataDir } of robots) {
      const file = join(dir.path, `${robot}-query.yaml`);
      writeFileSync(file, `data_dir: ${dataDir}\n`);
      const q = await runCli(['query', 'SELECT count(*) AS n FROM "/odom"', '--csv', '--config', file]);
      expect(q.code, q.stderr).toBe(0);
      const n = Number(q.stdout.trim().split('\n')[1]);
      expect(n).toBeGreaterThan(0);
      own.push(`${robot},${n}`);
    }
    expect(fleet.stdout).toBe(`robot,n\n${own.join('\n')}\n`);

    // Every journal record once: the outboxes drained, each (robot, journal, seq) in events once.
    for (const { daemon } of robots)
      await waitFor(
        () => (daemon.status().components.central?.details as { outbox?: { backlog?: number } })?.outbox?.backlog === 0,
        'the outbox drained',
      );
    const view = serves[0]!.view;
    await waitFor(async () => {
      const rows = (await view.query('SELECT robot, count(*) FROM events GROUP BY robot ORDER BY robot')).rows;
      return rows.length === 3 && robots.every(({ daemon }, i) => Number(rows[i]![1]) === daemon.journal.lastSeq);
    }, 'every robot’s journal in the fleet events');
    const doubled = await view.query('SELECT robot, journal_id, seq FROM events GROUP BY ALL HAVING count(*) > 1');
    expect(doubled.rows).toEqual([]);

    // Bags: each robot's bag splits listed with their object keys and sha256, the objects equal by sha256.
    const bags = await view.query('SELECT robot, object_key, sha256 FROM bags ORDER BY robot, object_key');
    for (const { robot } of robots) {
      const rows = synced.get(robot)!.filter((r) => r.kind === 'bag' && r.state === 'stored');
      const listed = bags.rows.filter((r) => r[0] === robot).map((r) => `${String(r[1])} ${String(r[2])}`);
      expect(listed.sort()).toEqual(rows.map((r) => `${r.objectKey} ${r.sha256}`).sort());
      for (const r of rows) expect(await objectSha256(minio, r.objectKey!)).toBe(r.sha256);
    }

    // Every command the robots took was central's, checked: two serve processes and the CLI sign apart.
    for (const { daemon } of robots) {
      const details = daemon.status().components.central?.details as { signatures: Record<string, number> };
      expect(details.signatures).toMatchObject({ unchecked: 0, unsigned: 0, bad_signature: 0, replayed: 0 });
      expect(details.signatures.verified).toBeGreaterThan(0);
    }
  }, 420_000);
});
