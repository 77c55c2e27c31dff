import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sweepLoopFolders } from './loop-folder.ts';

const root = mkdtempSync(join(tmpdir(), 'loop-folders-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('loop process folders a daemon killed with SIGKILL left behind', () => {
  it("are removed when their daemon's pid runs no more; a running daemon's and other names stay", () => {
    // A pid that ran and exited: no process has it now (unless reused at once, which this machine does not do so fast).
    const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
    const left = join(root, `auraison-loop-${gone}-AbC123`);
    mkdirSync(left);
    writeFileSync(join(left, 'board'), 'x');
    const running = join(root, `auraison-loop-${process.pid}-XyZ789`);
    mkdirSync(running);
    const other = join(root, 'auraison-loop-notapid');
    mkdirSync(other);
    expect(sweepLoopFolders(root)).toEqual([`auraison-loop-${gone}-AbC123`]);
    expect([existsSync(left), existsSync(running), existsSync(other)]).toEqual([false, true, true]);
  });
});
