// An arm's daemon as its operator sees it, with a robot_description that never comes (a topic nothing publishes): the
// stop speaks of the arm first and of the base's zero Twist as a base's, `status` and the status page say the control
// loops do not run (not a loop named "retries"), and the page shows no maze map.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { waitForValue } from '../helpers/wait.ts';
import { writeLinearModel } from '../system1/models.ts';
import { DaemonProcess } from '../agent/daemon-process.ts';
import { sharedChromium } from './chromium.ts';

const work = tempDir('arm-status-');
const chromium = sharedChromium();
const config = join(work.path, 'edge.yaml');
const model = writeLinearModel(work.path, 'pan', [1], [0]);
writeFileSync(
  config,
  `robot: {id: arm-1}
api: {port: 0}
foxglove: {enabled: false}
motion:
  joints: {robot_description: /robot_description}
policies:
  pan:
    model: ${model}
    inputs: {obs: {sources: [{constant: [0]}]}}
    outputs:
      actions:
        command: {topic: /arm, type: trajectory_msgs/msg/JointTrajectory, joint_names: [pan]}
control: {loops: {pan: {policy: pan, rate_hz: 10}}}
`,
);
let daemon: DaemonProcess | undefined;
afterAll(async () => {
  await chromium.close();
  if (daemon && daemon.child.exitCode === null) await daemon.kill();
  work.cleanup();
});

const cli = (...args: string[]) => runMain([...args, '--config', config], { cwd: work.path });

describe("an arm's daemon whose robot_description never comes", () => {
  it('stops the arm first, says its loops do not run, and shows no map', async () => {
    daemon = new DaemonProcess(work.path, config);
    await daemon.running();

    const stop = await cli('stop', '--reason', 'first hour');
    expect(stop.code).toBe(1); // nothing measured where the arm is: not held
    const lines = stop.stdout.split('\n');
    expect(lines[1]).toBe('stop taken, but the arm is NOT held where it is (below)');
    expect(lines[2]).toMatch(/^a zero Twist went to \/cmd_vel too, for a wheeled base /);
    expect(stop.stdout).toMatch(/\nNOT HELD: \/arm: /);
    expect((await cli('stop', '--release')).code).toBe(0);

    // The loops' wait for the description ends: the control component fails, and retries.
    const failed = await waitForValue(async () => {
      const status = await cli('status', '--json');
      const answer = JSON.parse(status.stdout) as { status?: { components: Record<string, { state: string }> } };
      return answer.status?.components.control?.state === 'failed';
    }, 'the control component to fail for want of the description');
    expect(failed).toBe(true);
    const status = await cli('status');
    expect(status.stdout).toMatch(/\ncontrol loops: NOT RUNNING, the control component failed: .+\n/);
    expect(status.stdout).not.toMatch(/^ {2}retries /m);

    const url = readApiFile(join(work.path, '.auraison-edge'))!.url;
    const context = await chromium.context({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await page.locator('#loops td.fail', { hasText: /^not running: / }).waitFor();
    expect(await page.locator('#loops td', { hasText: /^retries$/ }).count()).toBe(0);
    expect(await page.locator('#robot').textContent()).toBe('arm-1 · fleet default');
    // No /map, /odom or /scan for the live map to draw: no map section (the sim's page tests see it drawn).
    expect(await page.locator('#map-section').isVisible()).toBe(false);
    // The loops' table fits its panel: the panel does not scroll sideways.
    const overflow = (await page.evaluate(`(() => {
      const panel = document.getElementById('loops').closest('section');
      return panel.scrollWidth - panel.clientWidth;
    })()`)) as number;
    expect(overflow).toBeLessThanOrEqual(0);
    await context.close();
  }, 180_000);
});
