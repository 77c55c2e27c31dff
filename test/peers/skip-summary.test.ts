import { spawnSync } from 'node:child_process';
import { chmodSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { nodeAnyUserCanRun } from '../helpers/node-any-user.ts';
import { peerHere } from './missing.ts';

const EVERYWHERE = 'Skipped for want of what no registry installs';
const SUMMARY = ['--reporter=default', '--reporter=./test/peers/skip-summary.ts'];

/** A child vitest with `args`, in CI as `.ci/run` runs it, started through `wrapper` (a namespace, a user). */
function vitest(
  args: string[],
  wrapper: string[] = [],
  node = process.execPath,
): { status: number | null; output: string } {
  // the parent run's own variables would tell the child it is a worker of this run
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
  delete env.AURAISON_EDGE_SYSTEMD_TEST;
  const command = [...wrapper, node, join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...args];
  const run = spawnSync(command[0]!, [...command.slice(1), '--color=false'], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...env, CI: 'true', AURAISON_EDGE_PEERS: 'required', NO_COLOR: '1' },
  });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe("the run's skip summary named on the command line", () => {
  const tmp = tempDir('skip-summary-');
  afterAll(tmp.cleanup);

  it("lists the skips beside .ci/run's json report, whose reporters replace the config's", () => {
    const report = join(tmp.path, 'report.json');
    const config = ['--config', 'test/peers/fixtures/vitest.config.ts'];
    const { status, output } = vitest([
      ...config,
      '--reporter=json',
      `--outputFile=${report}`,
      ...SUMMARY,
      'everywhere',
    ]);
    expect(output).toContain(
      `${EVERYWHERE}, in 1 test file (skipped in CI too):\n` +
        '  ROS 2 is not sourced here (the fixture never has it)\n' +
        '    in test/peers/fixtures/everywhere.peer-test.ts\n',
    );
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ numPassedTests: 1, numPendingTests: 1 });
    expect(status).toBe(0);
  });

  // As another user in a network namespace of its own: not root for systemd-nspawn, and no LAN.
  const root = process.getuid?.() === 0;
  const asOther = peerHere(root, 'a child run as another user, in a network namespace of its own, needs root', {
    required: false,
  });
  it.runIf(asOther)(
    'lists the tests a machine cannot run, with why: systemd as PID 1 without root, the access_control example, no LAN',
    () => {
      const wrapper = ['unshare', '--net', 'setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'];
      // Another user cannot write the config vitest bundles into node_modules/.vite-temp: its runner loads it.
      const config = ['--config', 'test/peers/fixtures/machine-skips.config.ts', '--configLoader', 'runner'];
      chmodSync(tmp.path, 0o755); // the other user reaches the node copied into it
      const { status, output } = vitest([...config, ...SUMMARY], wrapper, nodeAnyUserCanRun(tmp.path));
      expect(output).toContain(`${EVERYWHERE}, in 2 test files (skipped in CI too):`);
      expect(output).toContain(
        '  the shipped unit under systemd as PID 1: systemd-nspawn needs root (CI runs as root)\n' +
          '    in test/systemd/unit.test.ts\n',
      );
      expect(output).toContain(
        "  docs/bridges.md's access_control example needs a LAN interface (a non-loopback IPv4 address) to tell its peers apart\n" +
          '    in test/zenoh/zenoh-access-control.test.ts\n',
      );
      expect(status).toBe(0);
    },
  );
});
