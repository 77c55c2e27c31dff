import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { stopChild } from '../helpers/stop-child.ts';
import { waitFor } from '../helpers/wait.ts';
import { ros2, ros2Env } from './ros2-env.ts';

const DOMAIN = 64;
let env: NodeJS.ProcessEnv;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(() => {
  env = ros2Env(DOMAIN);
});

afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

describe('ros2 launch of the daemon (launch 3.4.3, launch_ros 0.26.6)', () => {
  it('`ros2 launch launch/auraison_edge.launch.py` starts the daemon as a ROS 2 node and SIGINT stops it cleanly', async () => {
    const dir = tempDir('ros2-launch-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      'data_dir: ./data\nlog: {level: info}\napi: {port: 0}\nfoxglove: {port: 0}\n' +
        'ros: {enabled: true, node_name: launched_edge, graph_poll_ms: 200}\n',
    );
    const launch = spawn(
      'ros2',
      ['launch', join(ROOT, 'launch', 'auraison_edge.launch.py'), `config:=${config}`, `node:=${process.execPath}`],
      { env, cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    launch.stdout.on('data', (d: Buffer) => (output += d.toString()));
    launch.stderr.on('data', (d: Buffer) => (output += d.toString()));
    cleanups.push(() => stopChild(launch, 'SIGKILL'));
    const exited = new Promise<number | null>((resolve) => launch.on('close', (code) => resolve(code)));

    await waitFor(
      () => output.includes('"msg":"daemon running"'),
      `the daemon running under ros2 launch:\n${output}`,
      60_000,
    );
    const nodes = await ros2(env, ['node', 'list']);
    expect(nodes.stdout.split('\n')).toContain('/launched_edge');

    launch.kill('SIGINT');
    expect(await exited, output).toBe(0);
    expect(output).toMatch(/"msg":"daemon stopped"/);
    expect(output).toMatch(/process has finished cleanly|process has died \[pid \d+, exit code 0/);
  }, 120_000);

  it('`ros2 launch --show-args` reads both Gazebo launch files, with the same arguments', async () => {
    const args = async (file: string) => {
      const shown = await ros2(env, ['launch', '--show-args', join(ROOT, 'launch', file)]);
      expect(shown.code, shown.stderr).toBe(0);
      return [...shown.stdout.matchAll(/^ {4}'(\w+)':$/gm)].map((m) => m[1]);
    };
    const python = await args('gazebo_maze.launch.py');
    expect(python).toEqual(expect.arrayContaining(['world_dir', 'adapter', 'gui']));
    expect(await args('gazebo_maze.launch.xml')).toEqual(python);
  }, 120_000);
});
