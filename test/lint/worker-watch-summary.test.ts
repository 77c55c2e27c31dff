import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { abnormalWorkerEnds } from '../worker-watch-main.ts';

// A pid no vitest run here has: above Linux's largest pid_max (2^22).
const RUN = 9_000_000 + (process.pid % 1000);
const LOG = join(tmpdir(), `auraison-edge-vitest-workers-${RUN}.log`);
afterAll(() => rmSync(LOG, { force: true }));

describe("the worker watch's end-of-run summary", () => {
  it('names each worker that ended other than by SIGTERM or exit 0, how, and the last files it started', () => {
    writeFileSync(
      LOG,
      [
        'T1 vitest worker 10: starts a test file (last test file: /r/a.test.ts)',
        'T2 vitest worker 11: starts a test file (last test file: /r/b.test.ts)',
        'T3 vitest worker 10: starts a test file (last test file: /r/c.test.ts)',
        'T4 vitest worker 10: got SIGTERM (last test file: /r/c.test.ts)',
        'T5 vitest worker 10: ended, signal SIGTERM',
        'T6 vitest worker 11: starts a test file (last test file: /r/d.test.ts)',
        'T7 vitest worker 11: ended, signal SIGSEGV',
        'T8 vitest worker 12: starts a test file (last test file: /r/e.test.ts)',
        'T9 vitest worker 12: exit code 0 (last test file: /r/e.test.ts)',
        'T10 vitest worker 12: ended, exit code 0',
        'T11 vitest worker 13: ended, exit code 7',
        '',
      ].join('\n'),
    );
    expect(abnormalWorkerEnds(RUN)).toEqual([
      'vitest worker 11 ended at T7, signal SIGSEGV; the last test files it started: /r/b.test.ts, /r/d.test.ts',
      'vitest worker 13 ended at T11, exit code 7; the last test files it started: (none)',
    ]);
    expect(abnormalWorkerEnds(RUN, 1)[0]).toMatch(/started: \/r\/d\.test\.ts$/);
  });

  it('says nothing where the run left no log', () => {
    expect(abnormalWorkerEnds(RUN + 1)).toEqual([]);
  });
});
