import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/**
 * The .db3 reader's native addon (better-sqlite3) must survive the garbage collector freeing its databases and
 * statements while Node tears a thread or the process down. better-sqlite3 12 did not on Node 24.19 and later: it
 * aborted with `Assertion failed: (env) != nullptr` in RemoveEnvironmentCleanupHook, which killed a CI test worker
 * (and would kill a daemon reading bags in a worker, at its exit). The child below is the smallest case found to
 * abort on 12.11.1 every time (exit 134): worker threads that leave statements open and end, then a process that
 * exits with statements unclosed and a heap worth collecting.
 */
const CHILD = `
import { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
const require = createRequire(process.cwd() + '/');
const mod = require.resolve('better-sqlite3');
const src = "const { workerData } = require('node:worker_threads'); const Database = require(workerData);" +
  "const keep = []; for (let i = 0; i < 20; i++) { const db = new Database(':memory:'); keep.push(db.prepare('select 1'));" +
  " db.prepare('select 2').get(); } for (let i = 0; i < 2e5; i++) keep.push({ a: i });";
await Promise.all([0, 1, 2, 3].map(() => new Promise((r) => new Worker(src, { eval: true, workerData: mod, execArgv: [] }).on('exit', r))));
const Database = require('better-sqlite3');
const keep = [];
for (let i = 0; i < 200; i++) { const db = new Database(':memory:'); keep.push(db.prepare('select 1')); }
for (let i = 0; i < 1e6; i++) keep.push({ a: i });
console.log('version', require('better-sqlite3/package.json').version);
process.exit(0);
`;

describe('better-sqlite3 at thread and process teardown', () => {
  it('exits 0 with databases and statements left for the garbage collector, in workers and in the main thread', () => {
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', CHILD], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(run.stderr).not.toMatch(/Assertion failed/);
    expect(run.status, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toMatch(/version 1[3-9]\./);
  });
});
