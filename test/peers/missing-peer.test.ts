import { spawnSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { nodeAnyUserCanRun } from '../helpers/node-any-user.ts';

const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/**
 * Vitest run on the fixture files named `filter`, as a user runs `npm test`, with a peers' cache that holds nothing;
 * `asUser` runs it as that uid (and gid), not root.
 */
function runFixture(
  cache: string,
  env: Record<string, string>,
  filter = 'needs-peers',
  asUser?: number,
): { status: number | null; output: string } {
  // the parent run's own variables would tell the child it is a worker of this run
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  delete inherited.CI;
  delete inherited.AURAISON_EDGE_PEERS;
  const node = asUser === undefined ? process.execPath : nodeAnyUserCanRun(cache);
  const vitest = [node, VITEST, 'run', '--config', 'test/peers/fixtures/vitest.config.ts', '--color=false'];
  // Another user cannot write the config vitest bundles into node_modules/.vite-temp: it loads it through its runner.
  const command =
    asUser === undefined
      ? vitest
      : ['setpriv', `--reuid=${asUser}`, `--regid=${asUser}`, '--clear-groups', ...vitest, '--configLoader', 'runner'];
  const run = spawnSync(command[0]!, [...command.slice(1), filter], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...inherited, XDG_CACHE_HOME: cache, HOME: cache, NO_COLOR: '1', ...env },
  });
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

describe('a test that needs what no registry installs', () => {
  const tmp = tempDir('missing-everywhere-');
  chmodSync(tmp.path, 0o777); // for the run as another user
  afterAll(tmp.cleanup);
  const EVERYWHERE = 'Skipped for want of what no registry installs, in 1 test file (skipped in CI too):';

  it('is skipped in CI too, and listed as such: ROS 2', () => {
    for (const env of [{}, { CI: 'true' }] as Record<string, string>[]) {
      const { status, output } = runFixture(tmp.path, env, 'everywhere');
      expect(output).toMatch(/Tests\s+1 passed \| 1 skipped \(2\)/);
      expect(output).toContain(`${EVERYWHERE}\n  ROS 2 is not sourced here (the fixture never has it)\n`);
      expect(output).not.toContain('CI fails instead');
      expect(status).toBe(0);
    }
  });

  it.runIf(process.getuid?.() === 0)("is listed with why where a disk-full suite can't mount its tmpfs", () => {
    const { status, output } = runFixture(tmp.path, {}, 'everywhere', 65534);
    expect(output).toMatch(/Tests\s+2 skipped \(2\)/);
    expect(output).toContain(EVERYWHERE);
    expect(output).toContain('  mounting a small tmpfs needs root (CAP_SYS_ADMIN)');
    expect(output).toContain('    in test/peers/fixtures/everywhere.peer-test.ts');
    expect(status).toBe(0);
  });
});
