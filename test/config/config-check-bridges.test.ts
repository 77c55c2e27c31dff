// `config check` on an arm's config whose robot_description and loop input topics no bridge brings onto the bus:
// valid (a node inside the daemon may publish them), with a warning for each that says what to add; and the sim's
// default robot id on it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { writeLinearModel } from '../system1/models.ts';

const work = tempDir('config-check-bridges-');
afterAll(() => work.cleanup());
const model = writeLinearModel(work.path, 'pan', [1], [0]);

/** An arm's config with `topics` bridged from ROS 2. */
function armConfig(topics: string[], robot = '', loop = '{policy: pan, rate_hz: 10}'): string {
  const file = join(work.path, 'arm.yaml');
  writeFileSync(
    file,
    `${robot}ros: {enabled: true, topics: [${topics.join(', ')}], publish: [/arm]}
motion:
  joints: {robot_description: /robot_description}
policies:
  pan:
    model: ${model}
    inputs: {obs: {sources: [{topic: /joint_states, joints: [pan]}]}}
    outputs:
      actions:
        command: {topic: /arm, type: trajectory_msgs/msg/JointTrajectory, joint_names: [pan]}
control: {loops: {pan: ${loop}}}
`,
  );
  return file;
}

const check = (file: string, ...more: string[]) =>
  runMain(['config', 'check', '--config', file, ...more], { cwd: work.path, env: { AURAISON_EDGE_CONFIG: undefined } });

describe('config check on topics no bridge brings', () => {
  it('warns of the default robot id, a robot_description and a loop input not bridged, saying what to do, and passes', async () => {
    const file = armConfig(['/camera/**']);
    const r = await check(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(
        /^arm\.yaml: warning: robot\.id: sim-robot is the simulator's default id: name this robot /,
      ),
      expect.stringMatching(
        /^arm\.yaml: warning: motion\.joints\.robot_description: \/robot_description is not bridged onto the bus: .*; add \/robot_description to ros\.topics, or give motion\.joints\.urdf$/,
      ),
      expect.stringMatching(
        /^arm\.yaml: warning: policies\.pan\.inputs\.obs\.sources\[0\]\.topic: \/joint_states is not bridged onto the bus: loop pan would see nothing there .*; add \/joint_states to ros\.topics$/,
      ),
      'arm.yaml: valid',
      '',
    ]);
    const json = JSON.parse((await check(file, '--json')).stdout) as { valid: boolean; warnings: { path: string }[] };
    expect(json.valid).toBe(true);
    expect(json.warnings.map((w) => w.path)).toEqual([
      'robot.id',
      'motion.joints.robot_description',
      'policies.pan.inputs.obs.sources[0].topic',
    ]);
  });

  it('says nothing more once both are bridged and the robot is named', async () => {
    const r = await check(armConfig(['/joint_states', '/robot_description'], 'robot: {id: arm-1}\n'));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('arm.yaml: valid\n');
  });

  it("warns of a loop's episode marks topic not bridged, and passes", async () => {
    const loop = '{policy: pan, rate_hz: 10, episodes: /evaluation/episode}';
    const topics = ['/joint_states', '/robot_description'];
    const r = await check(armConfig(topics, 'robot: {id: arm-1}\n', loop));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.split('\n')).toEqual([
      expect.stringMatching(
        /^arm\.yaml: warning: control\.loops\.pan\.episodes: \/evaluation\/episode is not bridged onto the bus: loop pan would never hear an episode begin.*; add \/evaluation\/episode to ros\.topics$/,
      ),
      'arm.yaml: valid',
      '',
    ]);
    const bridged = await check(armConfig([...topics, '/evaluation/episode'], 'robot: {id: arm-1}\n', loop));
    expect(bridged.stdout).toBe('arm.yaml: valid\n');
  });
});
