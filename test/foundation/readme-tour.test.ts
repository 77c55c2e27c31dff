// The README's tour as written: `npm start` (package.json's start script) in one shell, the commands of its "A tour
// from a second shell" block in another, in the same directory, then Ctrl-C. Before, the stop from the second shell
// ended the whole process ("did not reach the goal: stopped by cli", exit 1), leaving no daemon to release, and its
// latch on disk made the next `npm start` fail at once.
// Both shells have $AURAISON_EDGE_CONFIG: the embedded default with its API and Foxglove on ports the kernel picks
// (the CLI finds the API in run/api.json, as it does on 7400), and the recorder on, as `sim` turns it on for the
// embedded default. The default ports are the machine's, not this test's: another daemon there (another checkout's
// tour, a developer's `npm start`) would answer this tour's commands, and they would refuse it as another data dir's.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, ROOT, startCli, tempDir } from '../helpers/cli.ts';

const work = tempDir('readme-tour-');
const config = join(work.path, 'edge.yaml');
writeFileSync(config, 'sim: {enabled: true}\nrecorder: {enabled: true}\napi: {port: 0}\nfoxglove: {port: 0}\n');
const env = { ...process.env, AURAISON_EDGE_CONFIG: config };
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  work.cleanup();
});

/** The commands of the README's tour block, comments and blank lines left to the shell. */
function tourLines(): string[] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const from = readme.indexOf('**A tour from a second shell.**');
  expect(from, 'the README has its tour').toBeGreaterThan(0);
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(from))![1]!;
  return block.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

/** package.json's start script's arguments: `exec node bin/auraison-edge.js ARGS...`. */
function startArgs(): string[] {
  const { scripts } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  expect(scripts.start).toMatch(/^exec node bin\/auraison-edge\.js( [\w.-]+)+$/);
  return scripts.start.split(' ').slice(3);
}

/** `npm start` in `cwd`: its output so far, and its end. */
function npmStart(cwd: string) {
  const run = startCli(startArgs(), { cwd, env });
  children.push(run.child);
  return run;
}

/**
 * One line of the tour, as the second shell runs it (`auraison-edge` is the checkout's bin). Asynchronous: npm start's
 * output is read meanwhile.
 */
function shell(line: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-c', `auraison-edge() { "$NODE" "$BIN" "$@"; }\n${line}`], {
      cwd,
      env: { ...env, NODE: process.execPath, BIN },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe("the README's tour", () => {
  it('runs as written: the stop leaves the sim running, the release moves nothing, an intent drives on, Ctrl-C ends it', async () => {
    const lines = tourLines();
    const [stop, status, release, intent, split, query] = lines;
    expect(lines).toHaveLength(6);
    expect(stop).toMatch(/^auraison-edge stop /);

    const first = npmStart(work.path);
    // While it drives: the first progress line.
    await first.printed('  t=');

    const stopped = await shell(stop!, work.path);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('sim drive aborted');
    await first.printed('the daemon and the sim run on until Ctrl-C');
    expect(first.out.stdout).toContain('did not reach the goal: stopped by');
    expect(first.out.stdout).toContain('auraison-edge stop --release     # the stop is latched');
    expect(first.child.exitCode).toBeNull();

    const shown = await shell(status!, work.path);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('ROBOT STOPPED: latched by');
    expect(shown.stdout).toMatch(/sim +running/);

    const released = await shell(release!, work.path);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('released:');

    const driven = await shell(intent!, work.path);
    expect(driven.code, driven.stderr).toBe(0);
    expect(driven.stdout).toMatch(/run \S+: succeeded/);
    expect(driven.stdout).toContain('"reached":true');

    // The intent's drive is in the split being recorded: the query counts it once the split has closed.
    const count = async () => {
      const counted = await shell(query!, work.path);
      expect(counted.code, counted.stderr).toBe(0);
      return Number(/^(\d+) *$/m.exec(counted.stdout)?.[1]);
    };
    const firstDrive = await count();
    expect(firstDrive).toBeGreaterThan(0);
    const closed = await shell(split!, work.path);
    expect(closed.code, closed.stderr).toBe(0);
    expect(await count()).toBeGreaterThan(firstDrive);

    // A stop latched when the first run ends: the next `npm start` runs on for its release instead of failing.
    expect((await shell('auraison-edge stop', work.path)).code).toBe(0);
    first.child.kill('SIGINT');
    expect(await first.ended).toBe(1); // the drive was stopped
    expect(first.out.stdout).toContain('interrupted: stopping the daemon');
    // Its warnings are lines of text beside the summary, not the daemon's JSON.
    expect(first.out.stderr).not.toContain('{"level"');

    const second = npmStart(work.path);
    await second.printed('the daemon and the sim run on until Ctrl-C');
    expect(second.out.stdout).toMatch(/^not driving: the robot is stopped: latched by/);
    expect(second.child.exitCode).toBeNull();
    expect(second.out.stderr).toMatch(/^auraison-edge: warning: the robot is stopped: latched by/m);
    const releasedAgain = await shell(release!, work.path);
    expect(releasedAgain.code, releasedAgain.stderr).toBe(0);
    second.child.kill('SIGINT');
    expect(await second.ended).toBe(1);
  }, 400_000);
});
