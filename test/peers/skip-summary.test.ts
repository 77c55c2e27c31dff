import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';

describe("the run's skip summary named on the command line", () => {
  const tmp = tempDir('skip-summary-');
  afterAll(tmp.cleanup);

  it("lists the skips beside .ci/run's json report, whose reporters replace the config's", () => {
    const report = join(tmp.path, 'report.json');
    // the parent run's own variables would tell the child it is a worker of this run
    const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('VITEST')));
    const run = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'),
        'run',
        '--config',
        'test/peers/fixtures/vitest.config.ts',
        '--color=false',
        '--reporter=default',
        '--reporter=json',
        `--outputFile=${report}`,
        '--reporter=./test/peers/skip-summary.ts',
        'everywhere',
      ],
      { cwd: ROOT, encoding: 'utf8', env: { ...env, CI: 'true', AURAISON_EDGE_PEERS: 'required', NO_COLOR: '1' } },
    );
    const output = `${run.stdout}${run.stderr}`;
    expect(output).toContain(
      'Skipped for want of what no registry installs, in 1 test file (skipped in CI too):\n' +
        '  ROS 2 is not sourced here (the fixture never has it)\n' +
        '    in test/peers/fixtures/everywhere.peer-test.ts\n',
    );
    expect(JSON.parse(readFileSync(report, 'utf8'))).toMatchObject({ numPassedTests: 1, numPendingTests: 1 });
    expect(run.status).toBe(0);
  });
});
