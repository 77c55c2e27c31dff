// docs/vision.md as written: each of its command blocks run by bash, in order, from the checkout into the folder the
// page puts the user in (a temporary one here for its /tmp/walk), with no auraison-edge on the PATH: the sim's drive
// recorded with its camera, the dataset exported with video, LeRobot 0.6.1 loading it and decoding its frames, an ACT
// sized by it exported to ONNX, the page's act.yaml run in a daemon, and the second shell's commands on it: the loop
// drives the robot from the camera and the odometry, the operator's stop holds it at zero, its release moves nothing,
// and the operator's start lets the policy drive again.
// Two changes, the machine's and not the page's: act.yaml gets free ports (another daemon there would answer on 7400),
// and $PY is the LeRobot this machine's test/peers/install put in its cache.
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { tempDir } from '../helpers/cli.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { shellBlocks, walkthroughShells } from '../helpers/walkthrough.ts';
import { lerobotPython } from '../peers/index.ts';

const work = tempDir('vision-walkthrough-');
const blocks = shellBlocks('vision.md');
const WALK = '/tmp/walk';

/** The page's first block, as a shell in the checkout runs it, into this test's folder; then this machine's $PY. */
function setup(): string {
  const first = blocks[0]!;
  expect(first).toContain(`mkdir -p ${WALK} && cd ${WALK}`);
  return `set -e\n${first.replaceAll(WALK, work.path)}PY=${lerobotPython()}\n`;
}

const { run, start, killAll } = walkthroughShells(setup, () => ({ HF_HUB_OFFLINE: '1' }));
afterAll(() => {
  killAll();
  work.cleanup();
});

/** The Twists topic echo has printed so far. */
function twists(echoed: string): { x: number; z: number }[] {
  return parseAllDocuments(echoed)
    .map((d) => d.toJS() as { linear?: { x: number }; angular?: { z: number } } | null)
    .filter((t) => t?.linear && t.angular)
    .map((t) => ({ x: t!.linear!.x, z: t!.angular!.z }));
}

describe('docs/vision.md, the vision walkthrough', () => {
  it(
    'records the camera, exports video, LeRobot loads it, ACT exported from it drives the sim, the stop holds it',
    { timeout: 600_000 },
    async () => {
      needFfmpeg();
      const [, drive, exported, loaded, act, daemon, watch] = blocks;
      expect(blocks).toHaveLength(7);

      // 1. Drive and record: it reaches the goal, as the page says.
      const driven = await run(drive!);
      expect(driven.code, driven.stderr).toBe(0);
      expect(driven.stdout).toMatch(/^reached the goal in 1\d(\.\d+)? s/m);
      expect(driven.stdout).toMatch(/\/camera\/image_raw \d+/);

      // 2. Export and inspect; 3. LeRobot loads it and decodes its frames.
      const dataset = await run(`${exported!}${loaded!}`);
      expect(dataset.code, dataset.stderr).toBe(0);
      expect(dataset.stdout).toMatch(/^ {2}observation\.images\.front +decoded: \d+ frames/m);
      // LeRobot's frame count, fps and first frame's shape (channels first)
      const [, frames] = /^(\d+) 15 torch\.Size\(\[3, 96, 128\]\)$/m.exec(dataset.stdout) ?? [];
      expect(Number(frames), dataset.stdout).toBeGreaterThan(200); // 17 s at 15 fps

      // 4. ACT sized by the dataset, as ONNX.
      const exportedAct = await run(act!);
      expect(exportedAct.code, exportedAct.stderr).toBe(0);

      // 5. The page's act.yaml in a daemon, on free ports.
      const runLine = 'auraison-edge run --config act.yaml';
      expect(daemon!.trimEnd().endsWith(runLine)).toBe(true);
      const written = await run(daemon!.trimEnd().slice(0, -runLine.length));
      expect(written.code, written.stderr).toBe(0);
      appendFileSync(join(work.path, 'act.yaml'), 'api: {port: 0}\nfoxglove: {port: 0}\n');
      const running = start(runLine);

      // 6. From a second shell: the Twists the loop sends, within motion.velocity's limits; its status; the stop; its
      // release, which moves nothing; the operator's start of the loop.
      const [echo, status, stop, release, startLoop] = watch!.split('\n').filter((l) => l.trim() !== '');
      await waitForValue(
        async () => (await run(status!)).code === 0,
        `the daemon to run\n${running.out.stderr}`,
        120_000,
      );
      const echoed = start(echo!);
      const moving = () => twists(echoed.out.stdout).filter((t) => t.x !== 0 || t.z !== 0);
      await waitFor(() => moving().length >= 15, `the policy driving\n${echoed.out.stderr}`, 120_000);
      for (const t of twists(echoed.out.stdout)) {
        expect(Math.abs(t.x)).toBeLessThanOrEqual(0.22 + 1e-9);
        expect(Math.abs(t.z)).toBeLessThanOrEqual(2.84 + 1e-9);
      }
      const shown = await run(status!);
      expect(shown.code, shown.stderr).toBe(0);
      expect(shown.stdout).toContain('act');
      const stopped = await run(stop!);
      expect(stopped.code, stopped.stderr).toBe(0);
      const after = twists(echoed.out.stdout).length;
      await waitFor(() => twists(echoed.out.stdout).length >= after + 10, 'ten Twists after the stop');
      const since = twists(echoed.out.stdout).slice(after);
      expect(since.every((t) => t.x === 0 && t.z === 0)).toBe(true);
      expect(twists(echoed.out.stdout).at(-1)).toEqual({ x: 0, z: 0 });

      const released = await run(release!);
      expect(released.code, released.stderr).toBe(0);
      const atRelease = twists(echoed.out.stdout).length;
      await waitFor(() => twists(echoed.out.stdout).length >= atRelease + 15, 'fifteen Twists after the release');
      expect(
        twists(echoed.out.stdout)
          .slice(atRelease)
          .filter((t) => t.x !== 0 || t.z !== 0),
      ).toEqual([]);
      const started = await run(startLoop!);
      expect(started.code, started.stderr).toBe(0);
      expect(started.stdout).toBe('loop "act" started: its policy drives\n');
      const atStart = twists(echoed.out.stdout).length;
      await waitFor(
        () =>
          twists(echoed.out.stdout)
            .slice(atStart)
            .some((t) => t.x !== 0 || t.z !== 0),
        'the policy driving again once started',
      );

      echoed.kill('SIGINT');
      running.kill('SIGINT');
      expect(await running.ended).toBe(0);
    },
  );
});
