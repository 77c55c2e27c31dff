import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { readThreadScheduling } from '../../daemon/util/index.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';

/** The threads of this process lowered as `lowerProcess(QUERY_PRIORITY)` would leave them (nice 19, or SCHED_IDLE). */
function loweredThreads(): number {
  let lowered = 0;
  for (const tid of readdirSync('/proc/self/task').map(Number)) {
    try {
      const now = readThreadScheduling(tid);
      if (now.policy === 'idle' || now.nice === 19) lowered++;
    } catch {
      // the thread exited meanwhile
    }
  }
  return lowered;
}

describe.runIf(process.platform === 'linux')('auraison-edge query inside a process of its caller', () => {
  it('answers the query and leaves the caller’s threads at their scheduling: only the CLI’s own process is lowered', async () => {
    const dir = tempDir('query-cli-scheduling-');
    try {
      const before = loweredThreads();
      const config = testConfig(dir.path);
      const r = await runMain(['query', 'SELECT 42 AS answer', '--json', '--config', config], { cwd: dir.path });
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ rows: [[42]] });
      expect(loweredThreads()).toBe(before);
    } finally {
      dir.cleanup();
    }
  });
});
