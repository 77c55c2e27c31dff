import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';

const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** Vitest run on the fixture, as a user runs `npm test`, with a peers' cache that holds nothing. */
function runFixture(cache: string, env: Record<string, string>): { status: number | null; output: string } {
  // the parent run's own variables would tell the child it is a worker of this run
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  delete inherited.CI;
  delete inherited.AURAISON_EDGE_PEERS;
  const run = spawnSync(
    process.execPath,
    [VITEST, 'run', '--config', 'test/peers/fixtures/vitest.config.ts', '--color=false'],
    { cwd: ROOT, encoding: 'utf8', env: { ...inherited, XDG_CACHE_HOME: cache, NO_COLOR: '1', ...env } },
  );
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('a test whose peer is not installed', () => {
  const tmp = tempDir('missing-peer-');
  afterAll(tmp.cleanup);

  it('is skipped outside CI, in a test or in its suite hook, and the summary names the command that installs it', () => {
    const { status, output } = runFixture(tmp.path, {});
    expect(output).toMatch(/Tests\s+1 passed \| 2 skipped \(3\)/);
    expect(output).toContain('Skipped for want of a peer, in 1 test file (CI fails instead):');
    expect(output).toContain(
      `Python with eclipse-zenoh is not installed (${join(tmp.path, 'auraison-edge-peers', 'venv', 'bin', 'python')}): ` +
        '`npm run test:all` installs it and runs every test (`bash test/peers/install zenoh` alone)',
    );
    expect(output).toContain("Python with LeRobot's dataset loader (lerobot) is not installed");
    expect(output).toContain('in test/peers/fixtures/needs-peers.peer-test.ts');
    expect(status).toBe(0);
  });

  it('fails in CI and under `npm run test:all`, saying which peer and how to install it', () => {
    for (const env of [{ CI: 'true' }, { AURAISON_EDGE_PEERS: 'required' }] as Record<string, string>[]) {
      const { status, output } = runFixture(tmp.path, env);
      // the suite whose hook failed counts as a failed suite, its test as not run
      expect(output).toContain('Failed Suites 1');
      expect(output).toMatch(/Tests\s+1 failed \| 1 passed \| 1 skipped \(3\)/);
      expect(output).toContain('Error: Python with eclipse-zenoh is not installed');
      expect(output).toContain("Error: Python with LeRobot's dataset loader (lerobot) is not installed");
      expect(output).not.toContain('Skipped for want of a peer');
      expect(status).toBe(1);
    }
  });
});
