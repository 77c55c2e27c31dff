import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { sharedChromium } from './chromium.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { runMain } from '../helpers/cli.ts';
import { startSimDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * `auraison-edge action list|info|send_goal`, as ros2 action does, against a daemon whose sim serves Nav2's
 * navigate_to_pose.
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));
const chromium = sharedChromium();
afterAll(() => chromium.close());

const NAV_TYPE = 'nav2_msgs/action/NavigateToPose';
const goalYaml = (x: number, y: number) =>
  `{pose: {header: {frame_id: map}, pose: {position: {x: ${x}, y: ${y}}, orientation: {w: 1}}}}`;

async function actionDaemon(config: Record<string, unknown> = {}) {
  const d = await startSimDaemon(cleanups, { speed: 20, config: { api: { enabled: true, port: 0 }, ...config } });
  const file = join(d.dir, 'edge.yaml');
  writeFileSync(file, `data_dir: ${join(d.dir, 'data')}\n`);
  const cli = (...args: string[]) => runMain(['action', ...args, '--config', file], { cwd: d.dir });
  return { ...d, cli };
}

describe('auraison-edge action', () => {
  it("lists the sim's navigate_to_pose with its type, and shows who serves it", async () => {
    const { cli } = await actionDaemon();
    const list = await cli('list', '-t');
    expect(list).toMatchObject({ code: 0, stdout: `/navigate_to_pose [${NAV_TYPE}]\n` });
    const info = await cli('info', '/navigate_to_pose');
    expect(info.code).toBe(0);
    expect(info.stdout).toBe(
      `Action: /navigate_to_pose\nType: ${NAV_TYPE}\nAction clients: 0\nAction servers: 1\n    (the daemon)  (bus)\n`,
    );
    expect(await cli('info', '/nowhere')).toMatchObject({ code: 1 });
  });

  it('sends a goal, prints its feedback and result, and exits 0 when it succeeds', async () => {
    const { cli, dock, sim } = await actionDaemon();
    const sent = await cli('send_goal', '/navigate_to_pose', NAV_TYPE, goalYaml(dock.x, dock.y), '--feedback');
    expect(sent.stderr).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^Sending goal:\n[\s\S]*\nGoal accepted with ID: [0-9a-f]{32}\n\n/);
    expect(sent.stdout).toContain('Feedback:\n');
    expect(sent.stdout).toMatch(/Goal finished with status: SUCCEEDED\n$/);
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeLessThan(0.3);
  });

  it('refuses a goal outside the geofence before it is sent, and a goal with a field its type lacks', async () => {
    const { cli, agent } = await actionDaemon({
      motion: {
        geofence: {
          polygon: [
            { x: 0, y: 0 },
            { x: 2, y: 0 },
            { x: 2, y: 2 },
            { x: 0, y: 2 },
          ],
        },
      },
    });
    const outside = await cli('send_goal', '/navigate_to_pose', NAV_TYPE, goalYaml(5, 5));
    expect(outside.code).toBe(1);
    expect(outside.stderr).toContain(
      'goal position (5, 5) is outside the geofence (motion.geofence.polygon): not sent',
    );
    const wrong = await cli('send_goal', '/navigate_to_pose', NAV_TYPE, '{speed: 3}');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/speed/);
    expect(agent.actionGoals.inFlight()).toEqual([]);
  });

  it('cancels the goal when the client goes away, as Ctrl-C does to ros2 action send_goal', async () => {
    const { daemon, dock, sim } = await actionDaemon();
    const url = JSON.parse(readFileSync(join(daemon.dataDir, 'run', 'api.json'), 'utf8')) as { url: string };
    const controller = new AbortController();
    const response = await fetch(`${url.url}/actions/goal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: '/navigate_to_pose',
        type: NAV_TYPE,
        goal: { pose: { header: { frame_id: 'map' }, pose: { position: { x: dock.x, y: dock.y } } } },
      }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    await waitFor(() => daemon.actionGoals.inFlight().length === 1, 'the goal in flight');
    controller.abort();
    await waitFor(() => daemon.actionGoals.inFlight().length === 0, 'the goal cancelled');
    const pose = sim.world.pose();
    expect(Math.hypot(pose.x - dock.x, pose.y - dock.y)).toBeGreaterThan(0.3);
  });

  it("shows the sim's navigate_to_pose on the status page, with its type and server", async () => {
    const { daemon } = await actionDaemon();
    const { url } = JSON.parse(readFileSync(join(daemon.dataDir, 'run', 'api.json'), 'utf8')) as { url: string };
    const browser = await chromium.context();
    cleanups.push(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${url}/`);
    const row = page.locator('#actions tbody tr');
    await row.first().waitFor();
    expect(await row.allInnerTexts()).toEqual([`/navigate_to_pose\t${NAV_TYPE}\t1\t0`]);
  });
});
