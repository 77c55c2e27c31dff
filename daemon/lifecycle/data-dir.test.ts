import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataDirError, DataDirLock, prepareDataDir, readOwner } from './data-dir.ts';

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});
function root(): string {
  const path = mkdtempSync(join(tmpdir(), 'data-dir-'));
  roots.push(path);
  return path;
}

describe('DataDirLock', () => {
  it('lets one holder at a time have a data dir, through a symlinked path too, and frees it on release', async () => {
    const dir = join(root(), 'a', 'b');
    const lock = await DataDirLock.acquire(dir, '/etc/edge.yaml');
    expect(readOwner(dir)).toMatchObject({ pid: process.pid, config_file: '/etc/edge.yaml' });
    await expect(DataDirLock.acquire(dir, undefined)).rejects.toThrow(
      new RegExp(`${dir} is in use by pid ${process.pid} \\(started .*, config /etc/edge.yaml\\)`),
    );
    await expect(DataDirLock.acquire(`${dir}/../b`, undefined)).rejects.toBeInstanceOf(DataDirError);
    lock.release();
    expect(existsSync(join(dir, 'run', 'daemon.json'))).toBe(false);
    const again = await DataDirLock.acquire(dir, undefined);
    again.release();
  });

  it('a daemon.json left by a crash does not hold the dir: only a live holder does', async () => {
    const dir = root();
    const first = await DataDirLock.acquire(dir, undefined);
    first.release();
    writeFileSync(
      join(dir, 'run', 'daemon.json'),
      JSON.stringify({ pid: 999_999_999, started_at: 'yesterday', config_file: null }),
    );
    const lock = await DataDirLock.acquire(dir, undefined);
    expect(readOwner(dir)?.pid).toBe(process.pid);
    lock.release();
  });
});

describe('prepareDataDir', () => {
  it('refuses a path that is a file, and a level it cannot create, by name', () => {
    const file = join(root(), 'file');
    writeFileSync(file, '');
    expect(() => prepareDataDir(file)).toThrow(`data_dir ${file} exists and is not a directory`);
    expect(() => prepareDataDir(join(file, 'sub'))).toThrow(
      `data_dir ${join(file, 'sub')}: cannot create ${join(file, 'sub')}`,
    );
    expect(() => prepareDataDir('/proc/auraison-edge-nope/x')).toThrow('cannot create /proc/auraison-edge-nope');
  });
});
