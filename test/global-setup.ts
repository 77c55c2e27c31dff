import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './helpers/cli.ts';
import { watchWorkerExits } from './worker-watch-main.ts';

/**
 * Builds dist/ once before the tests: tests that run `auraison-edge` as a user does (test/helpers/cli.ts's BIN)
 * run the compiled CLI, which must be the sources under test, not a build from before an edit.
 */
export default function setup(): void {
  watchWorkerExits();
  execFileSync(process.execPath, [join(ROOT, 'bin', 'build.js')], {
    cwd: ROOT,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
