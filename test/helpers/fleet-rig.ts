import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import { BROKER_QUEUE_LIMITS, brokerAcl } from '../../central/broker-acl.ts';
import { CentralLink } from '../../central-link/index.ts';
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';
import type { DaemonStatus } from '../../daemon/lifecycle/daemon-status.ts';
import { duckdbExtension } from '../peers/index.ts';
import { tempDir } from './paths.ts';
import { componentContext } from './component-context.ts';
import type { Minio } from './minio.ts';
import { startBroker, type Broker } from './mosquitto.ts';
import type { Postgres } from './postgres.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'auraison-edge.js');
export const CENTRAL_USER = 'central';
const PREFIX = 'auraison';

/** A robot's login on the fleet broker: its robot id, password `<id>-pass`. */
export const fleetLogin = (user: string) => ({ username: user, password: `${user}-pass` });

/**
 * A mosquitto set up for a fleet as docs/central-link.md tells it: no anonymous login, a login per robot (its robot id)
 * and one for central, and the acl_file `central acl` writes (each robot its own topics). Hashing the password file
 * in one `mosquitto_passwd -U` keeps a thousand logins cheap.
 */
export async function fleetBroker(fleet: string, robots: readonly string[]): Promise<Broker & { pid: number }> {
  const dir = tempDir('fleet-broker-');
  const passwords = join(dir.path, 'passwd');
  writeFileSync(passwords, [CENTRAL_USER, ...robots].map((u) => `${u}:${fleetLogin(u).password}\n`).join(''));
  execFileSync('/usr/bin/mosquitto_passwd', ['-U', passwords]);
  const acl = join(dir.path, 'acl');
  writeFileSync(acl, brokerAcl({ prefix: PREFIX, fleets: [fleet], centralUser: CENTRAL_USER }));
  const broker = await startBroker({
    // The queue limits of `central acl`'s conf, over the helper's own (which keeps whatever central has not taken).
    extraConfig: [`allow_anonymous false\npassword_file ${passwords}\nacl_file ${acl}`, ...BROKER_QUEUE_LIMITS].join(
      '\n',
    ),
  });
  return {
    ...broker,
    pid: pidOf(join(broker.dir, 'mosquitto.conf')),
    cleanup: async () => {
      await broker.cleanup();
      dir.cleanup();
    },
  };
}

/** The process whose command line names `arg` (the broker helper keeps its child to itself). */
function pidOf(arg: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(arg)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  throw new Error(`no process runs with ${arg}`);
}

/** A process's resident memory now and at its peak, in MiB (Linux's /proc). */
export function rssMiB(pid: number): { now: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { now: kib('VmRSS') / 1024, peak: kib('VmHWM') / 1024 };
}

export interface FleetServe {
  child: ChildProcess;
  url: string;
  /** What it has written so far (stdout and stderr, the last 64 kB of each): its log at warn and above. */
  output(): string;
  /** Per robot: how many of its events the lake holds, and how many distinct seqs among them. */
  counts(): Promise<Map<string, { events: number; distinct: number }>>;
  stop(): Promise<void>;
}

/**
 * `auraison-edge central serve` (the built CLI) for `fleet`, logged in as central, DuckLake on `pg` with its data in
 * MinIO (`minio`) or in `dir`; resolves once it said where its fleet page is.
 */
export async function startFleetServe(o: {
  dir: string;
  broker: Broker;
  fleet: string;
  pg: Postgres;
  minio?: Minio;
}): Promise<FleetServe> {
  const { dir, broker, fleet, pg, minio } = o;
  const file = join(dir, `central-${fleet}.yaml`);
  const login = fleetLogin(CENTRAL_USER);
  writeFileSync(
    file,
    [
      'mqtt:',
      `  url: ${broker.url}`,
      `  fleet: ${fleet}`,
      `  username: ${login.username}`,
      `  password: ${login.password}`,
      `  client_id: serve-${fleet}`,
      'lakehouse:',
      `  catalog: "postgres:${pg.conninfo}"`,
      // One lake for every fleet the catalog holds: DuckLake keeps the data path it was made with.
      `  data_path: "${minio ? 's3://fleet/lake/' : `${dir}/lake/`}"`,
      `  extension_directory: "${dirname(duckdbExtension('ducklake'))}"`,
      ...(minio
        ? [
            'storage:',
            `  endpoint: ${minio.endpoint}`,
            `  region: ${minio.region}`,
            '  bucket: fleet',
            `  access_key_id: ${minio.accessKeyId}`,
            `  secret_access_key: ${minio.secretAccessKey}`,
          ]
        : []),
      'http:',
      '  port: 0',
    ].join('\n'),
  );
  const child = spawn(process.execPath, [BIN, 'central', 'serve', '--config', file], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, AURAISON_LOG_LEVEL: 'warn' },
  });
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-65_536)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out = (out + d.toString()).slice(-65_536);
      const found = /fleet page (http:\/\/\S+)/.exec(out)?.[1];
      if (found) resolve(found);
    });
    child.once('exit', (code) => reject(new Error(`central serve exited (${code}): ${out}${err}`)));
    setTimeout(() => reject(new Error(`central serve said no fleet page within 60 s: ${out}${err}`)), 60_000).unref();
  }).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    child,
    url,
    output: () => out + err,
    counts: async () => {
      const res = await fetch(`${url}/api/query`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sql: `SELECT robot, count(*), count(DISTINCT seq) FROM events WHERE fleet = '${fleet}' GROUP BY robot`,
        }),
      });
      const body = (await res.json()) as { rows?: [string, number, number][]; message?: string };
      if (!body.rows) throw new Error(`fleet query failed: ${body.message}`);
      return new Map(body.rows.map(([robot, events, distinct]) => [robot, { events: +events, distinct: +distinct }]));
    },
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A robot's side of the fleet: its own journal and data dir, and the daemon's central link over them. */
export interface RobotLink {
  id: string;
  journal: DurableJournal;
  link: CentralLink;
  online(): boolean;
  stop(): Promise<void>;
}

/**
 * The central link as a daemon runs it (CentralLink over a DurableJournal, its cursor in its data dir), with the
 * robot's own login, and nothing else of the daemon: many of them fit in one process.
 */
export async function robotLink(o: {
  id: string;
  fleet: string;
  url: string;
  dataDir: string;
  fsync?: 'always' | 'never';
}): Promise<RobotLink> {
  const { id, fleet, url, dataDir, fsync = 'always' } = o;
  mkdirSync(dataDir, { recursive: true });
  const journal = new DurableJournal({ dir: join(dataDir, 'journal'), fsync });
  const started = Date.now();
  const daemonStatus = () =>
    ({
      robot: { id, fleet },
      uptime_s: (Date.now() - started) / 1000,
      components: {},
    }) as unknown as DaemonStatus;
  const ctx = componentContext(
    {
      robot: { id, fleet },
      central: {
        enabled: true,
        url,
        ...fleetLogin(id),
        reconnect_min_s: 0.2,
        reconnect_max_s: 2,
        heartbeat_s: 5,
      },
    },
    { journal, dataDir, daemonStatus, log: pino({ level: 'silent' }) },
  );
  const link = new CentralLink(ctx);
  await link.start();
  return {
    id,
    journal,
    link,
    online: () => (link.health().details as { connected?: boolean } | undefined)?.connected === true,
    stop: async () => {
      await link.close();
      await journal.close();
    },
  };
}
