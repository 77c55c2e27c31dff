// The README's tour as written: `npm start` (package.json's start script) in one shell, the commands of its "A tour
// from a second shell" block in another, both in the checkout, with no auraison-edge on the PATH, then Ctrl-C. Once
// while the drive is on, and once after it has reached the goal: the tour works either way. A stop from the second
// shell leaves the sim running, and its latch on disk makes the next `npm start` run on for its release.
// Both shells have $AURAISON_EDGE_CONFIG: the embedded default with its data in this test's dir, its API and Foxglove
// on ports the kernel picks (the CLI finds the API in run/api.json, as it does on 7400), and the recorder on, as `sim`
// turns it on for the embedded default. The default ports are the machine's, not this test's: another daemon there
// (another checkout's tour, a developer's `npm start`) would answer this tour's commands.
import type { ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runShellLine, startCli, tempDir } from '../helpers/cli.ts';

const work = tempDir('readme-tour-');
const config = join(work.path, 'edge.yaml');
writeFileSync(
  config,
  `data_dir: ${join(work.path, 'data')}\nsim: {enabled: true}\nrecorder: {enabled: true}\napi: {port: 0}\nfoxglove: {port: 0}\n`,
);
const env = { AURAISON_EDGE_CONFIG: config };
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

/** `npm start -- EXTRA...` in the checkout: its output so far, and its end. */
function npmStart(extra: string[] = []) {
  const run = startCli([...startArgs(), ...extra], { cwd: ROOT, env });
  children.push(run.child);
  return run;
}

/** A line of the tour, as the second shell in the checkout runs it (npm start's output is read meanwhile). */
const shell = (line: string) => runShellLine(line, { cwd: ROOT, env });

describe("the README's tour", () => {
  it('runs as written: the stop leaves the sim running, the release moves nothing, an intent drives, Ctrl-C ends it', async () => {
    const lines = tourLines();
    const [stop, status, release, intent, split, query] = lines;
    expect(lines).toHaveLength(6);
    for (const line of lines) expect(line).toMatch(/^node bin\/auraison-edge\.js /);

    const first = npmStart();
    // While it drives: the first progress line.
    await first.printed('  t=');

    const stopped = await shell(stop!);
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout).toContain('sim drive aborted');
    await first.printed('the daemon and the sim run on until Ctrl-C');
    expect(first.out.stdout).toContain('did not reach the goal: stopped by');
    // The next steps it prints run as the tour's do.
    expect(first.out.stdout).toContain('\n  node bin/auraison-edge.js stop --release     # the stop is latched');
    expect(first.child.exitCode).toBeNull();

    const shown = await shell(status!);
    expect(shown.code, shown.stdout + shown.stderr).toBe(0);
    expect(shown.stdout).toContain('ROBOT STOPPED: latched by');
    expect(shown.stdout).toMatch(/sim +running/);

    const released = await shell(release!);
    expect(released.code, released.stderr).toBe(0);
    expect(released.stdout).toContain('released:');

    const driven = await shell(intent!);
    expect(driven.code, driven.stderr).toBe(0);
    expect(driven.stdout).toMatch(/run \S+: succeeded/);
    expect(driven.stdout).toContain('"reached":true');

    // The intent's drive is in the split being recorded: the query counts it once the split has closed.
    const count = async () => {
      const counted = await shell(query!);
      expect(counted.code, counted.stderr).toBe(0);
      return Number(/^(\d+) *$/m.exec(counted.stdout)?.[1]);
    };
    const firstDrive = await count();
    expect(firstDrive).toBeGreaterThan(0);
    const closed = await shell(split!);
    expect(closed.code, closed.stderr).toBe(0);
    expect(await count()).toBeGreaterThan(firstDrive);

    // A stop latched when the first run ends: the next `npm start` runs on for its release instead of failing.
    expect((await shell(stop!)).code).toBe(0);
    first.child.kill('SIGINT');
    expect(await first.ended).toBe(1); // the drive was stopped
    expect(first.out.stdout).toContain('interrupted: stopping the daemon');
    // Its warnings are lines of text beside the summary, not the daemon's JSON.
    expect(first.out.stderr).not.toContain('{"level"');

    const second = npmStart();
    await second.printed('the daemon and the sim run on until Ctrl-C');
    expect(second.out.stdout).toMatch(/^not driving: the robot is stopped: latched by/);
    expect(second.child.exitCode).toBeNull();
    expect(second.out.stderr).toMatch(/^auraison-edge: warning: the robot is stopped: latched by/m);
    const releasedAgain = await shell(release!);
    expect(releasedAgain.code, releasedAgain.stderr).toBe(0);
    second.child.kill('SIGINT');
    expect(await second.ended).toBe(1);

    // A second shell that comes after the drive has reached the goal (here at 50x, in about a second).
    const third = npmStart(['--speed', '50']);
    await third.printed('the daemon and the sim run on until Ctrl-C');
    expect(third.out.stdout).toContain('reached the goal');
    for (const line of lines) {
      const r = await shell(line);
      expect(r.code, `${line}\n${r.stdout}${r.stderr}`).toBe(0);
      if (line === intent) expect(r.stdout).toContain('"reached":true');
    }
    third.child.kill('SIGINT');
    expect(await third.ended).toBe(0); // the drive reached its goal
  }, 400_000);
});
