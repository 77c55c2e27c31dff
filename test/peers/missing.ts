import type { RunnerTask, RunnerTestCase, RunnerTestFile } from 'vitest';

/** A file's tests skipped for want of a peer: why (the peer and how to get it), and whether CI fails instead. */
export interface PeerSkip {
  note: string;
  /** False for what no CI machine has (ROS 2, root to mount a tmpfs): skipped there too, saying so. */
  ciFails: boolean;
}

declare module 'vitest' {
  interface TaskMeta {
    /** The tests of a file that were skipped for want of a peer (test/peers/skip-summary.ts). */
    peerSkips?: PeerSkip[];
  }
}

/** Only under vitest: a bench (run by tsx) has no test to skip, and loading vitest there would fail. */
const runner = process.env.VITEST ? (await import('vitest')).TestRunner : undefined;

/**
 * Whether a missing peer fails the test rather than skipping it: in CI (`CI` set, as it is for `.ci/run`) and under
 * `npm run test:all` (`AURAISON_EDGE_PEERS=required`), so no real-peer test is ever skipped silently there.
 */
export function peersRequired(env: NodeJS.ProcessEnv = process.env): boolean {
  const ci = env.CI ?? '';
  return env.AURAISON_EDGE_PEERS === 'required' || (ci !== '' && ci !== '0' && ci !== 'false');
}

/**
 * What a test does when a peer it needs is not installed; `message` names the peer and the command that installs it.
 * Where peers are required (see peersRequired) and outside vitest it throws, failing the test. Otherwise it skips
 * the test, or every test of the suite when called from a suite's hook (a beforeAll that starts the peer), with
 * the message as the skip's note, and notes it on the file for the run's summary. `required: false` skips even where
 * peers are required, for a peer no CI machine has (ROS 2 itself, test/ros2).
 */
export function peerMissing(message: string, { required }: { required?: boolean } = {}): never {
  const test = runner?.getCurrentTest();
  const file = test?.file ?? currentFile();
  if ((required ?? peersRequired()) || !file) throw new Error(message);
  noteSkip(file, message, required === undefined);
  if (test) test.context.skip(message);
  throw suiteSkip(file.tasks, message);
}

/**
 * For the tests of a file that need what a machine may lack, decided as the file is collected (`describe.runIf(
 * peerHere(found, message))`): true where `present`; otherwise false, with the message noted on the file for the run's
 * summary, so the tests are never skipped silently, or thrown where peers are required (see peerMissing).
 */
export function peerHere(present: boolean, message: string, { required }: { required?: boolean } = {}): boolean {
  if (present) return true;
  const file = currentFile();
  if ((required ?? peersRequired()) || !file) throw new Error(message);
  noteSkip(file, message, required === undefined);
  return false;
}

/** `ciFails`: the caller left `required` to peersRequired(), so CI would have failed instead of skipping. */
function noteSkip(file: RunnerTestFile, note: string, ciFails: boolean): void {
  (file.meta.peerSkips ??= []).push({ note, ciFails });
}

/**
 * The error that skips the suite whose hook throws it. Vitest makes one only through a test's `context.skip()`, and a
 * hook has no test of its own, so it takes one from a test of the file that has not run yet, leaving that test's
 * result as it was (the suite's skip then marks it skipped with the rest).
 */
function suiteSkip(tasks: RunnerTask[], message: string): unknown {
  const test = firstTest(tasks);
  if (!test) return new Error(message);
  const result = test.result;
  try {
    test.context.skip(message);
  } catch (skip) {
    return skip;
  } finally {
    test.result = result;
  }
  return new Error(message);
}

/** The test file running now, undefined outside a test run (a child process that inherited VITEST from its test). */
function currentFile(): RunnerTestFile | undefined {
  try {
    return runner?.getCurrentSuite().file;
  } catch {
    return undefined; // vitest's "failed to find the current suite": no run here, so the test's own error is thrown
  }
}

function firstTest(tasks: RunnerTask[]): RunnerTestCase | undefined {
  for (const task of tasks) {
    const found = task.type === 'test' ? task : task.type === 'suite' ? firstTest(task.tasks) : undefined;
    if (found) return found;
  }
  return undefined;
}
