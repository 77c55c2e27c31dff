import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';
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

/**
 * `ros2 launch launch/<file>` (auraison_edge.launch.py or .xml) of a daemon named `nodeName`, its config written to
 * `configName` in a fresh directory (with `extraConfig` appended), with `args` after config:= and node:=. Killed at
 * the test's end.
 */
function launchDaemon(
  { file, configName, nodeName }: { file: string; configName: string; nodeName: string },
  args: string[],
  extraConfig = '',
) {
  const dir = tempDir('ros2-launch-');
  cleanups.push(dir.cleanup);
  const config = join(dir.path, configName);
  writeFileSync(
    config,
    'data_dir: ./data\nlog: {level: info}\napi: {port: 0}\nfoxglove: {port: 0}\n' +
      `ros: {enabled: true, node_name: ${nodeName}, graph_poll_ms: 200}\n${extraConfig}`,
  );
  const child = spawn(
    'ros2',
    ['launch', join(ROOT, 'launch', file), `config:=${config}`, `node:=${process.execPath}`, ...args],
    { env, cwd: dir.path, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  // Its own process group, all killed at the end, launch gone or not: launch killed alone leaves the daemon running.
  cleanups.push(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // ESRCH: nothing of the group is left.
    }
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  /** The pid of the daemon launch started the `nth` time, once that daemon logs "daemon running". */
  const running = async (nth: number): Promise<number> => {
    const pids = () =>
      [...output.matchAll(/"pid":(\d+),"name":"auraison-edge","msg":"daemon running"/g)].map((m) => Number(m[1]));
    await waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`ros2 launch exited ${child.exitCode}:\n${output}`);
        return pids().length >= nth;
      },
      `the daemon running for the ${nth}. time under ros2 launch`,
      60_000,
    );
    return pids()[nth - 1]!;
  };
  return { child, exited, running, output: () => output, dir: dir.path };
}

/** Whether process `pid` has ended (gone, or a zombie nobody reaped yet). */
function gone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? true;
  } catch {
    return true;
  }
}

/** The arguments `ros2 launch --show-args` lists for launch/<file>, in its order. */
async function launchArgs(file: string): Promise<string[]> {
  const shown = await ros2(env, ['launch', '--show-args', join(ROOT, 'launch', file)]);
  expect(shown.code, shown.stderr).toBe(0);
  return [...shown.stdout.matchAll(/^ {4}'(\w+)':$/gm)].map((m) => m[1]!);
}

const DAEMON_FILES = ['auraison_edge.launch.py', 'auraison_edge.launch.xml'];

describe('ros2 launch of the daemon (launch 3.4.3, launch_ros 0.26.6)', () => {
  // The XML file includes the Python one: the same daemon, arguments and exits.
  it.each(DAEMON_FILES)(
    '`ros2 launch launch/%s` starts the daemon as a ROS 2 node and SIGINT stops it cleanly',
    async (file) => {
      const launched = launchDaemon({ file, configName: 'edge.yaml', nodeName: 'launched_edge' }, []);
      await launched.running(1);
      const nodes = await ros2(env, ['node', 'list']);
      expect(nodes.stdout.split('\n')).toContain('/launched_edge');

      launched.child.kill('SIGINT');
      expect(await launched.exited, launched.output()).toBe(0);
      expect(launched.output()).toMatch(/"msg":"daemon stopped"/);
      expect(launched.output()).toMatch(/process has finished cleanly|process has died \[pid \d+, exit code 0/);
    },
    120_000,
  );

  it('with respawn:=true the daemon killed with SIGKILL comes back under launch, with the config path passed as given', async () => {
    // A path with a space and a quote: passed through to `run --config` as one argument, unquoted.
    const launched = launchDaemon(
      { file: 'auraison_edge.launch.py', configName: "robot's edge.yaml", nodeName: 'respawned_edge' },
      ['respawn:=true'],
    );
    const first = await launched.running(1);
    process.kill(first, 'SIGKILL');
    const second = await launched.running(2);
    expect(second).not.toBe(first);
    const nodes = await ros2(env, ['node', 'list']);
    expect(nodes.stdout.split('\n')).toContain('/respawned_edge');

    launched.child.kill('SIGINT');
    expect(await launched.exited, launched.output()).toBe(0);
    // Stopped by the launch's shutdown: not started a third time.
    expect(launched.output().match(/process started with pid/g), launched.output()).toHaveLength(2);
  }, 180_000);

  it('SIGTERM to ros2 launch, which launch answers by leaving what it started running, still stops the daemon cleanly', async () => {
    const launched = launchDaemon(
      { file: 'auraison_edge.launch.py', configName: 'edge.yaml', nodeName: 'termed_edge' },
      [],
      'sim: {enabled: true}\nrecorder: {enabled: true, include: [/odom]}\n',
    );
    const pid = await launched.running(1);
    launched.child.kill('SIGTERM');
    await launched.exited;
    await waitFor(() => gone(pid), `the daemon (pid ${pid}) gone after the launch`, 60_000);
    // Stopped as by SIGINT, not cut off: the recorder closed its bag (metadata.yaml written, its marker removed).
    const bags = join(launched.dir, 'data', 'bags');
    const files = readdirSync(join(bags, readdirSync(bags)[0]!));
    expect(files).toContain('metadata.yaml');
    expect(files).not.toContain('.recording');
  }, 120_000);

  it.each(DAEMON_FILES)(
    '%s: an invalid config (exit code 2) is not respawned: the launch says why and ends with exit code 1',
    async (file) => {
      const launched = launchDaemon(
        { file, configName: 'edge.yaml', nodeName: 'bad_edge' },
        ['respawn:=true'],
        'bogus_key: 1\n',
      );
      expect(await launched.exited, launched.output()).toBe(1);
      const output = launched.output();
      // Its lines under its own name, not setpriv's or node's.
      expect(output).toMatch(/^\[auraison_edge-1\] .*bogus_key: unknown key/m);
      expect(output).toMatch(/process has died \[pid \d+, exit code 2/);
      expect(output).toContain('auraison-edge exited with code 2 (invalid config');
      expect(output.match(/process started with pid/g), output).toHaveLength(1);
    },
    120_000,
  );

  it('`ros2 launch --show-args` reads the daemon launch files and both Gazebo ones, each pair with the same arguments', async () => {
    expect(await launchArgs('auraison_edge.launch.py')).toEqual(['config', 'node', 'respawn']);
    expect(await launchArgs('auraison_edge.launch.xml')).toEqual(['config', 'node', 'respawn']);
    const python = await launchArgs('gazebo_maze.launch.py');
    expect(python).toEqual(expect.arrayContaining(['world_dir', 'adapter', 'gui']));
    expect(await launchArgs('gazebo_maze.launch.xml')).toEqual(python);
  }, 120_000);
});
