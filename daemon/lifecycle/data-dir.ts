import { createHash } from 'node:crypto';
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { errorText } from '../util/index.ts';

/** The data dir can't be used: it can't be created or written, or another daemon holds it. The CLI exits 2. */
export class DataDirError extends Error {
  override name = 'DataDirError';
}

/**
 * Creates the data dir one level at a time and checks that it is a writable directory. (Node's recursive
 * mkdir never returns under /proc; level by level, the first level that can't be made is named.)
 */
export function prepareDataDir(dataDir: string): void {
  const missing: string[] = [];
  for (let at = resolve(dataDir); !existsSync(at); at = dirname(at)) {
    missing.unshift(at);
    if (dirname(at) === at) break;
  }
  for (const level of missing) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new DataDirError(`data_dir ${dataDir}: cannot create ${level}: ${errorText(error)}`);
    }
  }
  let isDirectory: boolean;
  try {
    isDirectory = statSync(dataDir).isDirectory();
  } catch (error) {
    throw new DataDirError(`data_dir ${dataDir}: ${errorText(error)}`);
  }
  if (!isDirectory) throw new DataDirError(`data_dir ${dataDir} exists and is not a directory`);
  try {
    accessSync(dataDir, constants.W_OK);
  } catch {
    throw new DataDirError(
      `data_dir ${dataDir} is not writable by this user (uid ${process.getuid?.() ?? '?'}); fix its owner or point data_dir elsewhere`,
    );
  }
}

/** What `<data_dir>/run/daemon.json` says about the daemon that holds the data dir. */
export interface DataDirOwner {
  pid: number;
  started_at: string;
  config_file: string | null;
}

/**
 * One daemon per data dir: two would append to one journal, write one bag directory and race on the
 * lakehouse. On Linux the lock is a socket in the abstract namespace named after the data dir's real
 * path, so the kernel frees it when the holder exits, kill -9 included: no stale lock to clean up.
 * It is per host and network namespace (two containers with their own network that mount one data dir
 * don't see each other's lock). Elsewhere it falls back to the pid in `run/daemon.json`.
 */
export class DataDirLock {
  readonly dataDir: string;
  #server: Server | undefined;

  private constructor(dataDir: string, server: Server | undefined) {
    this.dataDir = dataDir;
    this.#server = server;
  }

  /**
   * `warn` hears what did not stop the start: on a full disk run/daemon.json can't be written, and on Linux
   * (where the kernel's lock, not that file, keeps a second daemon out) the daemon starts anyway, since it
   * is what frees space (retention) and says the disk is full (health). Only the message of a second
   * daemon is poorer then (`in use by another daemon`, no pid).
   */
  static async acquire(
    dataDir: string,
    configFile: string | undefined,
    warn?: (message: string) => void,
  ): Promise<DataDirLock> {
    prepareDataDir(dataDir);
    const owner = readOwner(dataDir);
    let server: Server | undefined;
    if (process.platform === 'linux') {
      server = await listenAbstract(lockName(dataDir)).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'EADDRINUSE') throw inUse(dataDir, owner);
        throw new DataDirError(`data_dir ${dataDir}: cannot take the data dir lock: ${error.message}`);
      });
    } else if (owner && owner.pid !== process.pid && alive(owner.pid)) {
      throw inUse(dataDir, owner);
    }
    try {
      writeOwner(dataDir, { pid: process.pid, started_at: new Date().toISOString(), config_file: configFile ?? null });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (server && (code === 'ENOSPC' || code === 'EDQUOT')) {
        // A dead daemon's file would name it as the holder to a second daemon: gone (unlinking takes no space).
        rmSync(ownerPath(dataDir), { force: true });
        warn?.(
          `data dir: cannot write ${ownerPath(dataDir)} (${errorText(error)}): the disk is full; starting anyway (the data dir lock holds without it; it names this daemon to a second one)`,
        );
        return new DataDirLock(dataDir, server);
      }
      server?.close();
      throw new DataDirError(`data_dir ${dataDir}: cannot write run/daemon.json: ${errorText(error)}`);
    }
    return new DataDirLock(dataDir, server);
  }

  /** Frees the data dir (and removes run/daemon.json if it is still ours). */
  release(): void {
    if (readOwner(this.dataDir)?.pid === process.pid) rmSync(ownerPath(this.dataDir), { force: true });
    this.#server?.close();
    this.#server = undefined;
  }
}

function lockName(dataDir: string): string {
  const real = realpathSync(dataDir);
  return `\0auraison-edge/data-dir/${createHash('sha256').update(real).digest('hex').slice(0, 40)}`;
}

function listenAbstract(name: string): Promise<Server> {
  return new Promise((resolvePromise, reject) => {
    const server = createServer((socket) => socket.destroy());
    server.once('error', reject);
    server.listen(name, () => {
      server.off('error', reject);
      server.unref();
      resolvePromise(server);
    });
  });
}

/**
 * Whether a daemon holds the data dir's lock now (Linux: something listens on its abstract socket); undefined
 * elsewhere, where only the pid in run/daemon.json says. A pid read from a file can be another process's by now
 * (pids wrap, a reboot starts them over); the lock goes with the daemon that held it.
 */
export async function dataDirHeld(dataDir: string): Promise<boolean | undefined> {
  if (process.platform !== 'linux') return undefined;
  let name: string;
  try {
    name = lockName(dataDir);
  } catch {
    return false; // no such dir: nothing holds it
  }
  return new Promise((resolvePromise) => {
    const socket = connect(name);
    socket.once('connect', () => (socket.destroy(), resolvePromise(true)));
    socket.once('error', () => resolvePromise(false));
  });
}

function inUse(dataDir: string, owner: DataDirOwner | undefined): DataDirError {
  const who = owner
    ? `pid ${owner.pid} (started ${owner.started_at}${owner.config_file ? `, config ${owner.config_file}` : ''})`
    : 'another daemon';
  return new DataDirError(
    `data_dir ${dataDir} is in use by ${who}; stop that daemon first, or give this one another data_dir`,
  );
}

function ownerPath(dataDir: string): string {
  return join(dataDir, 'run', 'daemon.json');
}

export function readOwner(dataDir: string): DataDirOwner | undefined {
  try {
    const value = JSON.parse(readFileSync(ownerPath(dataDir), 'utf8')) as Partial<DataDirOwner>;
    return typeof value.pid === 'number' && typeof value.started_at === 'string'
      ? { pid: value.pid, started_at: value.started_at, config_file: value.config_file ?? null }
      : undefined;
  } catch {
    return undefined; // none yet, or left half-written by a crash: the lock, not this file, decides
  }
}

function writeOwner(dataDir: string, owner: DataDirOwner): void {
  const path = ownerPath(dataDir);
  mkdirSync(dirname(path), { recursive: true });
  try {
    writeFileSync(`${path}.tmp`, `${JSON.stringify(owner, null, 2)}\n`);
    renameSync(`${path}.tmp`, path);
  } catch (error) {
    rmSync(`${path}.tmp`, { force: true }); // a full disk leaves it empty or cut short
    throw error;
  }
}

/** Whether process `pid` exists (EPERM: it does, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
