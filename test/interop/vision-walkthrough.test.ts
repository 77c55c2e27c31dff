// docs/vision.md as written, step by step: the sim's drive recorded with its camera, the dataset exported with video,
// LeRobot 0.6.1 loading it and decoding its frames, an ACT sized by it exported to ONNX (lerobot_act.py, as the page
// runs it), and the page's act.yaml run in a daemon: the loop drives the robot from the camera and the odometry, and
// the operator's stop holds it at zero. The CLI steps run through the CLI; the daemon of step 5 runs in this process
// so the test can watch /cmd_vel.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { ROOT, runCli, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { lerobotPython, runPeer } from '../peers/index.ts';
import { exportActFromDataset } from '../system1/act-peer.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';

const work = tempDir('vision-walkthrough-');
afterAll(() => work.cleanup());

const page = readFileSync(join(ROOT, 'docs', 'vision.md'), 'utf8');

/** The page's act.yaml (step 5), as its heredoc writes it. */
function actYaml(): string {
  const found = /cat > act\.yaml <<'YAML'\n([\s\S]*?)\nYAML\n/.exec(page);
  expect(found, 'docs/vision.md writes act.yaml').not.toBeNull();
  return found![1]!;
}

describe('docs/vision.md, the vision walkthrough', () => {
  it(
    'records the camera, exports video, LeRobot loads it, ACT exported from it drives the sim',
    { timeout: 600_000 },
    async () => {
      needFfmpeg();
      // The sim's own ports would be the machine's: this run takes free ones, as the README tour's test does.
      const base = join(work.path, 'edge.yaml');
      writeFileSync(base, 'sim: {enabled: true}\nrecorder: {enabled: true}\napi: {port: 0}\nfoxglove: {port: 0}\n');
      const env = { AURAISON_EDGE_CONFIG: base };
      const cli = (args: string[]) => runCli(args, { cwd: work.path, env, timeoutMs: 240_000 });

      // 1. Drive and record (shorter than the page's 20 s).
      const drive = await cli(['sim', 'turtlebot-maze', '--duration', '6', '--speed', '1']);
      expect(drive.stdout).toMatch(/\/camera\/image_raw \d+/);
      expect(drive.stdout).toMatch(/recorded: /);

      // 2. Export: the page's query and export.
      expect(page).toContain(
        `auraison-edge query 'SELECT min(log_time)::VARCHAR, max(log_time)::VARCHAR FROM "/cmd_vel"' --csv`,
      );
      const span = await cli([
        'query',
        'SELECT min(log_time)::VARCHAR, max(log_time)::VARCHAR FROM "/cmd_vel"',
        '--csv',
      ]);
      expect(span.code, span.stderr).toBe(0);
      const window = span.stdout.trim().split('\n').at(-1)!;
      const features = [
        'observation.images.front=/camera/image_raw',
        'observation.state=/odom:twist.twist.linear.x,twist.twist.angular.z',
        'action=/cmd_vel:linear.x,angular.z',
      ];
      for (const f of features) expect(page).toContain(`--feature ${f}`);
      const exported = await cli([
        'lerobot',
        'export',
        'ds',
        '--fps',
        '15',
        '--window',
        window,
        ...features.flatMap((f) => ['--feature', f]),
      ]);
      expect(exported.code, exported.stderr).toBe(0);
      const inspected = await cli(['lerobot', 'inspect', 'ds', '--decode']);
      expect(inspected.code, inspected.stderr).toBe(0);

      // 3. LeRobot loads it and decodes its frames.
      const loaded = await runPeer(lerobotPython(), [
        '-c',
        "import os; os.environ['HF_HUB_OFFLINE'] = '1'\n" +
          'from lerobot.datasets.lerobot_dataset import LeRobotDataset as D\n' +
          `d = D('local/walk', root=${JSON.stringify(join(work.path, 'ds'))})\n` +
          "print(d.num_frames, d.fps, *d[d.num_frames - 1]['observation.images.front'].shape)",
      ]);
      const [frames, fps, c, h, w] = loaded.trim().split('\n').at(-1)!.split(' ').map(Number);
      expect([fps, c, h, w]).toEqual([15, 3, 96, 128]);
      expect(frames).toBeGreaterThan(60);

      // 4. ACT sized by the dataset, as ONNX.
      expect(page).toContain('lerobot_act.py export act --dataset ds --chunk 20 --small');
      const act = await exportActFromDataset(join(work.path, 'act'), join(work.path, 'ds'), 20);
      expect(act.inputs.map((i) => i.shape)).toEqual([
        [1, 2],
        [1, 3, 96, 128],
      ]);

      // 5. The page's act.yaml in a daemon; 6. its commands on /cmd_vel, then the stop.
      const file = join(work.path, 'act.yaml');
      const yaml = `${actYaml()}\napi: {port: 0}\nfoxglove: {enabled: false}\nlog: {level: warn}\n`;
      writeFileSync(file, yaml);
      const daemon = new Daemon({
        config: loadConfigFile(file).config,
        log: pino({ level: 'silent' }),
        cwd: work.path,
      });
      const codec = new MessageCodec(daemon.definitions);
      const twists: { x: number; z: number }[] = [];
      daemon.bus.subscribe({
        name: 'test',
        topic: '/cmd_vel',
        handler: (m) => {
          const t = codec.decode<{ linear: { x: number }; angular: { z: number } }>(m.type, m.data);
          twists.push({ x: t.linear.x, z: t.angular.z });
        },
      });
      await daemon.start();
      try {
        await waitFor(() => twists.filter((t) => t.x !== 0 || t.z !== 0).length >= 15, 'the policy driving', 120_000);
        // Behind the safety frame: policy.velocity's default limits.
        for (const t of twists) {
          expect(Math.abs(t.x)).toBeLessThanOrEqual(0.22 + 1e-9);
          expect(Math.abs(t.z)).toBeLessThanOrEqual(2.84 + 1e-9);
        }
      } finally {
        await daemon.stop();
      }
    },
  );
});
