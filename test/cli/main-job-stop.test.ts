import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { main } from '../../daemon/cli/main.ts';
import { within } from '../../daemon/util/index.ts';
import { http } from '../api/http.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// The main job drives the robot itself (its own navigator, or the ONNX policy's loop), and prints a status
// page URL whose STOP button, like `auraison-edge stop`, is the operator's stop. That stop must stop the
// main job's drive too, not only the agent's runs: before, the page said "stopped" while the main job's
// navigator went on publishing /cmd_vel and the robot drove on to its goal.

const cleanups = cleanupStack();

interface Summary {
  reached?: boolean;
  outcome?: string;
  message?: string;
  stopped?: { by: string; reason: string | null } | null;
  distance_m: number;
}

/** Starts the main job in this process; resolves its exit code and JSON summary once it ends. */
function startMainJob(
  args: string[],
  extraConfig = '',
): { dir: string; done: Promise<{ code: number; summary: Summary }> } {
  const dir = tempDir('main-job-stop-');
  cleanups.push(dir.cleanup);
  let stdout = '';
  const argv = ['sim', 'turtlebot-maze', '--json', '--config', testConfig(dir.path, extraConfig), ...args];
  const done = main(argv, { stdout: (t) => (stdout += t), stderr: () => {}, env: process.env, cwd: dir.path }).then(
    (code) => ({ code, summary: JSON.parse(stdout) as Summary }),
  );
  return { dir: dir.path, done };
}

/** The API's URL once it is up, and a way to read how many Twists went to /cmd_vel. */
async function apiOf(dir: string): Promise<{ url: string; cmdVels: () => Promise<number> }> {
  const dataDir = join(dir, '.auraison-edge');
  await waitFor(() => readApiFile(dataDir) !== undefined, "the main job's API");
  const url = readApiFile(dataDir)!.url;
  const cmdVels = async () => {
    const status = (await http(url, '/status')).json as { topics?: { topic: string; count: number }[] };
    return status.topics?.find((t) => t.topic === '/cmd_vel')?.count ?? 0;
  };
  return { url, cmdVels };
}

async function driving(cmdVels: () => Promise<number>): Promise<void> {
  await waitFor(async () => (await cmdVels()) >= 20, 'the main job to drive', 30_000);
}

/**
 * POST /stop from a client that lets go of its connection once answered, as a CLI that exits does. The stop
 * ends the main job, which stops its daemon: the daemon's API waits up to 1.5 s (its close grace) for a
 * connection still open, and fetch would keep this one open (keep-alive) for the next request.
 */
function postStop(url: string, body: { by: string; reason?: string }) {
  return http(url, '/stop', { body, headers: { connection: 'close' } });
}

describe("the operator's stop stops the main job's drive", () => {
  it('navigation: the drive ends at once, not at the goal, and the summary says who stopped it', async () => {
    // Real time: far_corner is more than a minute away, so a drive that goes on cannot end in time.
    const job = startMainJob(['--goal', 'far_corner', '--speed', '1', '--duration', '600']);
    const api = await apiOf(job.dir);
    await driving(api.cmdVels);
    const stop = await postStop(api.url, { by: 'test', reason: 'person in the aisle' });
    expect(stop.status).toBe(200);
    expect(stop.json).toMatchObject({ topic: '/cmd_vel', aborted: 'sim drive' });
    const ended = await within(job.done, 10_000);
    expect(ended, 'the main job still drives 10 s after the stop').toBeDefined();
    expect(ended!.code).toBe(1);
    expect(ended!.summary).toMatchObject({
      reached: false,
      outcome: 'cancelled',
      stopped: { by: 'test', reason: 'person in the aisle' },
    });
    expect(ended!.summary.message).toMatch(/stopped by test: person in the aisle/);
  }, 60_000);

  it('policy driver: the loop stops and the summary says who stopped it', async () => {
    const job = startMainJob(['--driver', 'policy', '--speed', '1', '--duration', '600']);
    const api = await apiOf(job.dir);
    await driving(api.cmdVels);
    const stop = await postStop(api.url, { by: 'test' });
    expect(stop.status).toBe(200);
    expect(stop.json).toMatchObject({ aborted: 'sim drive' });
    const ended = await within(job.done, 10_000);
    expect(ended, 'the policy still drives 10 s after the stop').toBeDefined();
    expect(ended!.code).toBe(1);
    expect(ended!.summary).toMatchObject({ stopped: { by: 'test', reason: null } });
  }, 60_000);

  it('with no agent (agent.enabled false), the stop ends the drive all the same, and the latch keeps the next one from starting', async () => {
    const job = startMainJob(
      ['--goal', 'far_corner', '--speed', '1', '--duration', '600'],
      'agent:\n  enabled: false\n',
    );
    const api = await apiOf(job.dir);
    await driving(api.cmdVels);
    const stop = await postStop(api.url, { by: 'test', reason: 'no agent' });
    expect(stop.status).toBe(200);
    expect(stop.json).toMatchObject({ topic: '/cmd_vel', aborted: null, latched: { by: 'test' } });
    const ended = await within(job.done, 10_000);
    expect(ended, 'the main job still drives 10 s after the stop').toBeDefined();
    expect(ended!.code).toBe(1);
    expect(ended!.summary).toMatchObject({ reached: false, stopped: { by: 'test', reason: 'no agent' } });

    const again = await runMain(
      ['sim', 'turtlebot-maze', '--speed', '10', '--duration', '5', '--config', join(job.dir, 'edge.yaml')],
      { cwd: job.dir },
    );
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/not driving: the robot is stopped: latched by test/);
  }, 60_000);

  it('a navigate_to intent takes the robot from the main job rather than drive beside it', async () => {
    const job = startMainJob(['--goal', 'far_corner', '--speed', '1', '--duration', '600']);
    const api = await apiOf(job.dir);
    await driving(api.cmdVels);
    const intent = await http(api.url, '/intents', { body: { type: 'navigate_to', params: { x: 0.55, y: 1.55 } } });
    expect(intent.status).toBe(201);
    const ended = await within(job.done, 10_000);
    expect(ended, "the main job still drives beside the intent's navigation").toBeDefined();
    expect(ended!.code).toBe(1);
    expect(ended!.summary).toMatchObject({ reached: false, outcome: 'cancelled' });
    expect(ended!.summary.message).toMatch(/superseded by navigate_to of run /);
  }, 60_000);
});
