// `sim --stay` (npm start) on a data dir whose stop is still latched from an earlier run: it does not drive, and the
// next steps it prints (the release, then the intent) drive the robot as written, run by bash with no other call in
// between and no auraison-edge on the PATH.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { runCli, runShellLine, startCli, tempDir } from '../helpers/cli.ts';

const work = tempDir('sim-stay-latched-');
const config = join(work.path, 'edge.yaml');
writeFileSync(config, 'sim: {enabled: true}\napi: {port: 0}\nfoxglove: {port: 0}\n');
const env = { AURAISON_EDGE_CONFIG: config };
afterAll(() => work.cleanup());

/** `sim turtlebot-maze --stay` in the work dir, and a wait for it to stay. */
function simStay() {
  const run = startCli(['sim', 'turtlebot-maze', '--stay', '--speed', '20'], { cwd: work.path, env });
  return { ...run, staying: () => run.printed('run on until Ctrl-C', 120_000) };
}

const cli = (args: string[]) => runCli(args, { cwd: work.path, env });

describe('sim --stay with a stop latched from an earlier run', () => {
  it('runs the sim, so the printed release and intent drive the robot', async () => {
    const first = simStay();
    await first.staying();
    expect((await cli(['stop', '--reason', 'left latched'])).code).toBe(0);
    first.child.kill('SIGINT');
    await first.ended;

    const second = simStay();
    try {
      await second.staying();
      expect(second.out.stdout).toMatch(/^not driving: the robot is stopped: latched by/);
      const release = /^ {2}(node \S+ stop --release) +#/m.exec(second.out.stdout);
      const intent = /^ {2}(node \S+ intent navigate_to --params '[^']+' --wait) +#/m.exec(second.out.stdout);
      expect(release, second.out.stdout).not.toBeNull();
      expect(intent, second.out.stdout).not.toBeNull();

      const shell = (line: string) => runShellLine(line, { cwd: work.path, env });
      const released = await shell(release![1]!);
      expect(released.code, released.stderr).toBe(0);
      const driven = await shell(intent![1]!);
      expect(driven.code, `${driven.stdout}\n${driven.stderr}`).toBe(0);
      expect(driven.stdout).toContain('"reached":true');
    } finally {
      second.child.kill('SIGINT');
      await second.ended;
    }
  }, 300_000);
});
