import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readThreadScheduling } from '../../daemon/util/index.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';

/** Every thread of this process at SCHED_IDLE, or not: what `lowerProcess` would leave. */
function idleThreads(): number {
  let idle = 0;
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    try {
      if (readThreadScheduling(tid).policy === 'idle') idle++;
    } catch {
      // the thread exited meanwhile
    }
  }
  return idle;
}

describe.runIf(process.platform === 'linux')('auraison-edge query inside a process of its caller', () => {
  it('answers the query and leaves the caller’s threads at their scheduling: only the CLI’s own process is lowered', async () => {
    const dir = tempDir('query-cli-scheduling-');
    try {
      const before = idleThreads();
      const config = testConfig(dir.path);
      const r = await runMain(['query', 'SELECT 42 AS answer', '--json', '--config', config], { cwd: dir.path });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: [[42]] });
      expect(idleThreads()).toBe(before);
    } finally {
      dir.cleanup();
    }
  });
});
