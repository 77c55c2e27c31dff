import { join } from 'node:path';
import { Value } from 'typebox/value';
import { afterAll, describe, expect, it } from 'vitest';
import { writeLeRobotV30 } from '../../adapters/lerobot/dataset/v30-writer.ts';
import { replayPolicy } from '../../adapters/lerobot/policy-replay.ts';
import { PolicyConfig, type PolicySettings } from '../../daemon/config/index.ts';
import { ROOT, runMain, tempDir } from '../helpers/cli.ts';

// `policy replay` of the sim's own avoid policy on a LaserScan dataset: the policy's configured input clips the scan to
// [0, 3.5] m as its control loop does, so the +inf ranges (REP 117: nothing in range) the dataset keeps are fed as the
// loop feeds them, not refused as "input scan element N is Infinity".

const work = tempDir('policy-replay-scan-');
afterAll(() => work.cleanup());

const MODEL = join(ROOT, 'sim/turtlebot-maze/policy/avoid.onnx');

function settings(clip: boolean): PolicySettings {
  return Value.Default(PolicyConfig, {
    model: MODEL,
    inputs: { scan: { sources: [{ topic: '/scan', field: 'ranges', ...(clip ? { clip: [0, 3.5] } : {}) }] } },
  }) as PolicySettings;
}

describe('policy replay of a LaserScan dataset', () => {
  it("feeds the scan as the policy's control loop does (clipped), +inf ranges included", async () => {
    const dataset = join(work.path, 'scan-dataset');
    // 20 frames of a corridor: walls at 1 m left and right, nothing in range ahead (+inf), driving straight.
    const scan = () => Float32Array.from({ length: 360 }, (_, i) => (i < 45 || i > 315 ? Infinity : 1));
    await writeLeRobotV30(dataset, {
      fps: 10,
      features: [
        { key: 'observation.scan', names: null, dim: 360 },
        { key: 'action', names: ['linear.x', 'angular.z'], dim: 2 },
      ],
      episodes: [
        {
          task: 'corridor',
          frames: {
            'observation.scan': Array.from({ length: 20 }, scan),
            action: Array.from({ length: 20 }, () => Float32Array.of(0.2, 0)),
          },
        },
      ],
    });
    const replay = (clip: boolean) =>
      replayPolicy({ name: 'avoid', settings: settings(clip), dataset, inputs: { scan: 'observation.scan' } });

    const report = await replay(true);
    expect(report).toMatchObject({ frames: 20 });
    expect(Number.isFinite(report.mae)).toBe(true);
    // Without the loop's clip the same frames are refused, as they were before replay applied it.
    await expect(replay(false)).rejects.toThrow(/input "scan" element \d+ is Infinity; inputs must be finite/);
  });

  it('refuses the bare .onnx on the recorded scan saying how to go on: --config with the source clip', async () => {
    const bare = await runMain(
      [
        'policy',
        'replay',
        MODEL,
        join(ROOT, 'sim/turtlebot-maze/policy/avoid-drive'),
        '--input',
        'scan=observation.scan',
      ],
      { cwd: work.path },
    );
    expect(bare.code).toBe(1);
    expect(bare.stderr).toMatch(/input "scan" element \d+ is Infinity; inputs must be finite/);
    expect(bare.stderr).toContain('replay the policy by its name with --config FILE');
    expect(bare.stderr).toContain('policies.<name>.inputs.<input>.sources[0].clip');
    // What it points to works.
    const configured = await runMain(
      [
        'policy',
        'replay',
        'avoid',
        'sim/turtlebot-maze/policy/avoid-drive',
        '--config',
        'sim/turtlebot-maze/policy/avoid.yaml',
        '--input',
        'scan=observation.scan',
      ],
      { cwd: ROOT },
    );
    expect(configured.code, configured.stderr).toBe(0);
  });
});
