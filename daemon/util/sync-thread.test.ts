import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { runCleanups, type Cleanup } from '../../test/helpers/cleanups.ts';
import { SyncThread } from './sync-thread.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

function fresh(): { dir: string; thread: SyncThread } {
  const dir = tempDir('sync-thread-');
  const thread = new SyncThread();
  cleanups.push(
    () => dir.cleanup(),
    () => thread.close(),
  );
  return { dir: dir.path, thread };
}

describe('the sync thread', () => {
  it('writes a file whole, in a directory it makes, and replaces it whole', async () => {
    const { dir, thread } = fresh();
    const path = join(dir, 'state', 'latch.json');
    await thread.writeDurably(path, '{"by":"ada"}\n');
    await thread.writeDurably(path, '{"by":"bob"}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"by":"bob"}\n');
  });

  it("fails a job with the system's error and code, and takes the next", async () => {
    const { dir, thread } = fresh();
    const file = join(dir, 'a-file');
    writeFileSync(file, '');
    await expect(thread.writeDurably(join(file, 'latch.json'), '{}')).rejects.toMatchObject({
      code: 'EEXIST',
      message: expect.stringContaining(file),
    });
    // No fd of this process has that number.
    const error = await new Promise((resolve) => thread.fdatasync(1_000_000, resolve));
    expect(error).toMatchObject({ code: 'EBADF' });
    await thread.writeDurably(join(dir, 'ok.json'), '{}');
    expect(readFileSync(join(dir, 'ok.json'), 'utf8')).toBe('{}');
  });

  it('refuses jobs once closed, saying so', async () => {
    const { thread } = fresh();
    await thread.close();
    await expect(thread.writeDurably('/nowhere', '{}')).rejects.toThrow('the sync thread is closed');
  });
});
