// `npm run test:stress [-- <vitest args>]`: the suite (or the files named) run twice with CPU hogs beside it, one per
// core, so a test that passes only on an idle machine (one that waits a fixed time, or checks that nothing happened
// before the thing had its chance) fails here rather than in a loaded CI run. Exits non-zero when a round fails.
//
//   STRESS_ROUNDS (default 2)   how many times vitest runs
//   STRESS_HOGS (default: cores) how many spinning processes run beside it
//
// The hogs hold an IPC channel to this process and exit when it closes, so they die with it however it ends (a
// SIGKILL included).
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const VITEST = join(ROOT, 'node_modules', 'vitest', 'vitest.mjs');

/** A whole number from the environment, or `fallback`; anything else is a usage error (exit 2). */
function count(name, fallback) {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) {
    process.stderr.write(`test:stress: ${name}=${text} is not a whole number\n`);
    process.exit(2);
  }
  return n;
}

const rounds = count('STRESS_ROUNDS', 2);
const hogCount = count('STRESS_HOGS', availableParallelism());
const args = process.argv.slice(2);

// Spins in slices of 50 ms so that the channel's close (this process gone) is heard between them.
const HOG = `
process.on('disconnect', () => process.exit(0));
const spin = () => { const end = Date.now() + 50; while (Date.now() < end); setImmediate(spin); };
spin();
`;
const hogs = Array.from({ length: hogCount }, () =>
  spawn(process.execPath, ['-e', HOG], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] }),
);
// The channel keeps nothing of this process's alive but the hogs' own lives.
for (const hog of hogs) hog.channel?.unref();

let vitest;
const stopHogs = () => {
  for (const hog of hogs) if (hog.exitCode === null && hog.signalCode === null) hog.kill('SIGKILL');
};
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(signal, () => {
    vitest?.kill(signal);
    stopHogs();
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGTERM' ? 15 : 1));
  });
}
process.on('exit', stopHogs);

const results = [];
for (let round = 1; round <= rounds; round++) {
  process.stdout.write(
    `\ntest:stress: round ${round} of ${rounds}, ${hogCount} CPU hogs beside vitest run ${args.join(' ')}\n`,
  );
  const started = performance.now();
  const code = await new Promise((resolve) => {
    vitest = spawn(process.execPath, [VITEST, 'run', ...args], { cwd: ROOT, stdio: 'inherit' });
    vitest.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 1 : 0)));
  });
  vitest = undefined;
  results.push({ round, code, seconds: Math.round((performance.now() - started) / 1000) });
}
stopHogs();
const failed = results.filter((r) => r.code !== 0);
for (const r of results)
  process.stdout.write(
    `test:stress: round ${r.round} ${r.code === 0 ? 'passed' : `failed (exit ${r.code})`} in ${r.seconds} s\n`,
  );
process.stdout.write(`test:stress: ${rounds - failed.length} of ${rounds} rounds passed with ${hogCount} CPU hogs\n`);
process.exit(failed.length === 0 ? 0 : 1);
