import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { postgresBinDir } from '../peers/index.ts';
import { closedPort } from './closed-port.ts';
import { stopChild } from './stop-child.ts';
import { tempDir } from './paths.ts';
import { waitFor } from './wait.ts';

const run = promisify(execFile);

/**
 * A real PostgreSQL server (Debian's) on a free loopback port, its cluster made by initdb in a temp dir, trust
 * auth for the user `auraison`, database `fleet`. `stop('SIGKILL')` is a server that dies; `restart()` brings
 * it back on the same port with its data. Under root, the cluster belongs to Debian's `postgres` user.
 */
export interface Postgres {
  port: number;
  dir: string;
  /** libpq connection string for DuckDB's postgres extension (`ATTACH 'postgres:...'`, DuckLake's catalog). */
  conninfo: string;
  url: string;
  stop(signal?: NodeJS.Signals): Promise<void>;
  restart(): Promise<void>;
  cleanup(): Promise<void>;
}

async function postgresUser(): Promise<{ uid: number; gid: number }> {
  const id = async (flag: string) => Number((await run('id', [flag, 'postgres'])).stdout.trim());
  return { uid: await id('-u'), gid: await id('-g') };
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  const dir = tempDir('postgres-');
  const data = join(dir.path, 'data');
  const port = await closedPort();
  // As root, every server program runs as the Debian package's `postgres` user (postgres refuses root).
  const user = process.getuid?.() === 0 ? await postgresUser() : {};
  if ('uid' in user) await run('chown', ['-R', String(user.uid), dir.path]);
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'auraison', '--auth=trust', '-E', 'UTF8', '--no-sync'], user);
  let child: ChildProcess | undefined;
  const conninfo = `host=127.0.0.1 port=${port} user=auraison dbname=fleet`;
  const ready = async () => {
    const r = await run(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)]).catch(() => undefined);
    return r !== undefined;
  };
  const launch = async () => {
    const args = [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir.path}`,
      '-c',
      'fsync=off',
    ];
    const c = spawn(join(bin, 'postgres'), args, { ...user, stdio: ['ignore', 'ignore', 'pipe'] });
    child = c;
    let stderr = '';
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exited = false;
    c.once('exit', () => (exited = true));
    await waitFor(
      async () => {
        if (exited) throw new Error(`postgres exited at start: ${stderr}`);
        return ready();
      },
      'postgres to accept connections',
      30_000,
    );
  };
  await launch();
  const createdb = join(bin, 'createdb');
  await run(createdb, ['-h', '127.0.0.1', '-p', String(port), '-U', 'auraison', 'fleet']);
  // SIGINT is PostgreSQL's fast shutdown: clients are disconnected (SIGTERM would wait for them to leave).
  const stop = async (signal: NodeJS.Signals = 'SIGINT') => {
    const c = child;
    child = undefined;
    await stopChild(c, signal);
  };
  return {
    port,
    dir: dir.path,
    conninfo,
    url: `postgresql://auraison@127.0.0.1:${port}/fleet`,
    stop,
    restart: launch,
    cleanup: async () => {
      await stop('SIGINT');
      dir.cleanup();
    },
  };
}
