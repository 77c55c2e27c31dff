// POST /recorder/split: what a caller is told when another split request is in
// flight. A real recorder hands its splits to a real lakehouse, as in daemon/recorder/recorder.split.test.ts.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recordingFixture } from './recording-harness.ts';
import { http } from './http.ts';

const { recording } = recordingFixture();

/**
 * Another process that opens the catalog read-only and keeps it open (a DuckDB shell left open on it),
 * until `close()` ends its input: it closes the database and exits, as a user closing the shell.
 */
async function holdCatalog(dataDir: string): Promise<{ close: () => Promise<void> }> {
  const catalog = join(dataDir, 'lakehouse', 'catalog.duckdb');
  const script = `require('@duckdb/node-api').DuckDBInstance.create(${JSON.stringify(catalog)}, { access_mode: 'READ_ONLY' }).then((db) => { console.log('held'); process.stdin.resume().on('end', () => { db.closeSync(); process.exit(0); }); })`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await Promise.race([
    new Promise((resolve) => child.stdout!.once('data', resolve)),
    exited.then((code) => Promise.reject(new Error(`the catalog holder exited (${code})`))),
  ]);
  return {
    close: async () => {
      child.stdin!.end();
      await exited;
    },
  };
}

describe('POST /recorder/split, two callers at once', () => {
  it('tells each caller that what it recorded is indexed, not that nothing was recorded', async () => {
    const { harness, publish } = await recording();
    await publish(20);
    // Two scripts each want what was recorded up to now in queries (`bag split && auraison-edge query`).
    const replies = await Promise.all([1, 2].map(() => http(harness.url, '/recorder/split', { body: {} })));
    expect(replies.map((r) => r.status)).toEqual([200, 200]);
    // Both callers' messages (all 20 were published before either asked) are in the one split closed:
    // each must be told so, and wait for its indexing. Before the fix the caller that came second (its
    // request reached the recorder while, or just after, the other's split closed) got {split: null,
    // indexing: null} ("nothing was recorded since the last split", exit 0) before the split was indexed.
    for (const r of replies) expect(r.json).toMatchObject({ split: { messages: 20 }, indexing: { state: 'indexed' } });
  });
});

describe('POST /recorder/split after a catalog lock is gone', () => {
  it('tries the catalog now, rather than answer FAILED, locked by a DuckDB shell that was closed since', async () => {
    // The backoff a lock held for a long while has grown to (10 minutes), whatever this machine's speed.
    const { harness, publish } = await recording({ catalogWaitMs: 300, retryMs: { first: 600_000, max: 600_000 } });
    await publish(3);
    const holder = await holdCatalog(harness.dataDir);
    let held: { status: number; json: Record<string, unknown> };
    try {
      held = await http(harness.url, '/recorder/split', { body: {} });
    } finally {
      await holder.close();
    }
    // While the other process held it: failed, saying so (true).
    expect(held.json).toMatchObject({
      split: { messages: 3 },
      indexing: { state: 'failed', error: expect.stringContaining('is locked by process') },
    });
    // The user closed the shell and asks again. Before the fix the index job was skipped for the lock's
    // backoff (5 s, doubling per failure up to 10 minutes): `bag split` answered FAILED, "locked by process
    // <the one that exited>", exit 1, and nothing was indexed until the backoff ran out.
    await publish(3);
    const after = await http(harness.url, '/recorder/split', { body: {} });
    expect(after.json).toMatchObject({ split: { messages: 3 }, indexing: { state: 'indexed' } });
  });
});
