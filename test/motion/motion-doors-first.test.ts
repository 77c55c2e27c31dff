// The stop's doors open before any part that can move the robot, and a reload that cannot load the joint limits is
// refused. Before, an arm's daemon whose robot_description had not come opened its API and stop listener only after
// the control loops' 10 s wait for it (a stop in that window was refused), and a reload naming a URDF that does not
// exist printed "reload applied" while joint commands went on with no limits loaded.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeLinearModel } from '../system1/models.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';

const work = tempDir('motion-doors-');
const config = join(work.path, 'edge.yaml');
const urdf = join(work.path, 'arm.urdf');
writeFileSync(
  urdf,
  '<robot name="arm"><joint name="pan" type="revolute"><limit lower="-1" upper="1" velocity="1"/></joint></robot>',
);
const model = writeLinearModel(work.path, 'pan', [1], [0]);
const arm = (joints: string) => `robot: {id: arm-doors}
api: {port: 0}
foxglove: {enabled: false}
sim: {enabled: false}
motion:
  joints: ${joints}
policies:
  pan:
    model: ${model}
    inputs: {obs: {sources: [{constant: [0]}]}}
    outputs:
      actions:
        command: {topic: /arm, type: trajectory_msgs/msg/JointTrajectory, joint_names: [pan]}
control: {loops: {pan: {policy: pan, rate_hz: 10}}}
`;
let daemon: DaemonProcess | undefined;
afterAll(async () => {
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  work.cleanup();
});

describe("the stop's doors and the joint limits at start and reload", () => {
  it('takes a stop while the control loops still wait for the robot_description, from the first of the start', async () => {
    // A description topic nothing publishes: the loops wait for it.
    writeFileSync(config, arm('{robot_description: /robot_description}'));
    daemon = new DaemonProcess(work.path, config);
    const data = join(work.path, '.auraison-edge');
    await waitFor(() => existsSync(join(data, 'run', 'api.json')), 'the API (and its stop listener) open');
    const api = readApiFile(data)!;
    expect(api.stop_url).toBeDefined();
    const stop = await runMain(['stop', '--reason', 'before the loops', '--config', config], { cwd: work.path });
    // Taken and latched; the arm's topic is not held, as nothing measured where it is.
    expect(stop.stdout).toMatch(/latched: nothing the daemon governs moves the robot/);
    expect(stop.stdout).toMatch(/NOT HELD: \/arm: not held: no position of pan measured/);
    expect(stop.code).toBe(1);
    await daemon.running();
    expect((await runMain(['stop', '--release', '--config', config], { cwd: work.path })).code).toBe(0);
  }, 120_000);

  it('refuses a reload whose URDF does not exist, and keeps the limits in force', async () => {
    writeFileSync(config, arm(`{urdf: ${join(work.path, 'gone.urdf')}}`));
    const rejected = await runMain(['reload', '--config', config], { cwd: work.path });
    expect(rejected.code).toBe(1);
    expect(rejected.stdout + rejected.stderr).toMatch(/motion\.joints\.urdf: .*gone\.urdf: .*no such file/);
    writeFileSync(config, arm(`{urdf: ${urdf}}`));
    const applied = await runMain(['reload', '--config', config], { cwd: work.path });
    expect(applied.code, applied.stdout + applied.stderr).toBe(0);
    const status = await runMain(['status', '--config', config], { cwd: work.path });
    expect(status.stdout).toContain(`joint limits: ${urdf}, set`);
  }, 120_000);
});
