// launch/gazebo_maze.launch.{py,xml} under the real `ros2 launch` (ros2cli, launch and launch_ros from source beside a
// hand-built Gazebo and ros_gz; test/gazebo-live/gazebo-env.ts): Gazebo, the bridge and the daemon start, the daemon
// gets Gazebo's topics, and one SIGINT to `ros2 launch` ends every process it started. robot_state_publisher, tf2_ros
// and nav2's map_server are not built beside it, so the launch runs with state_publisher:=false map_server:=false and
// an rclpy node publishes /map. Skips with one line where there is no Gazebo (CI).
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { gazeboWorkspace, start, startMapPublisher, type GazeboWorkspace } from './gazebo-world.ts';

const DOMAIN = 12;
let workspace: GazeboWorkspace | undefined;

afterEach(async () => {
  await workspace?.stop();
  workspace = undefined;
});

/** Every process under `pid` now (children, theirs, ...), by pid, with its command line. */
function descendants(pid: number): Map<number, string> {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out = new Map<number, string>();
  const walk = (p: number) => {
    for (const child of children.get(p) ?? []) {
      try {
        out.set(child, readFileSync(`/proc/${child}/cmdline`, 'utf8').replaceAll('\0', ' ').trim());
      } catch {
        continue;
      }
      walk(child);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number) => {
  try {
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
};

describe('the Gazebo launch files under ros2 launch', () => {
  it.each([
    ['gazebo_maze.launch.py', 'one SIGINT to ros2 launch'],
    ['gazebo_maze.launch.xml', 'one SIGINT to ros2 launch'],
    ['gazebo_maze.launch.py', 'Gazebo killed'],
  ])(
    '%s starts Gazebo, the bridge and the daemon, and %s ends them all',
    async (file, ending) => {
      workspace = await gazeboWorkspace({ domain: DOMAIN, rosGz: true });
      const { env, dir, setup, work } = workspace;
      const exported = parse(readFileSync(join(dir, 'edge.ros2.yaml'), 'utf8')) as Record<string, object>;
      const config = join(work, 'edge.yaml');
      writeFileSync(
        config,
        stringify({
          ...exported,
          data_dir: join(work, 'data'),
          api: { port: 0 },
          foxglove: { port: 0 },
          log: { level: 'info' },
          ros: { ...exported.ros, rclnodejs: setup.rclnodejs },
        }),
      );
      await startMapPublisher(workspace);
      const launch = start(
        'ros2',
        [
          'launch',
          join(ROOT, 'launch', file),
          `world_dir:=${dir}`,
          'gui:=false',
          `headless_rendering:=${setup.renderEngine === 'ogre2'}`,
          'state_publisher:=false',
          'map_server:=false',
          `config:=${config}`,
          `node:=${process.execPath}`,
        ],
        env,
        work,
      );
      workspace.started.push(launch);
      await waitFor(() => launch.output().includes('daemon running'), 'the daemon launched', 180_000).catch(
        (error: Error) => {
          throw new Error(`${error.message}\n${launch.output().slice(-4000)}`);
        },
      );
      const topics = await waitForValue(
        async () => {
          const status = await runCli(['status', '--json', '--config', config], { cwd: work, env });
          if (status.code !== 0 && status.code !== 3) return false;
          const names = (JSON.parse(status.stdout) as { status: { topics: { topic: string }[] } }).status.topics.map(
            (t) => t.topic,
          );
          return ['/scan', '/odom', '/clock', '/joint_states', '/map'].every((t) => names.includes(t)) && names;
        },
        "Gazebo's topics on the launched daemon's bus",
        180_000,
      );
      expect(topics).toEqual(expect.arrayContaining(['/scan', '/odom', '/tf', '/clock', '/joint_states', '/map']));
      const tree = descendants(launch.pid!);
      const commands = [...tree.values()].join('\n');
      expect(commands).toMatch(new RegExp(`${setup.cli}.* ${setup.simVerb}|${setup.simVerb}.*maze\\.sdf`));
      expect(commands).toContain('parameter_bridge');
      expect(commands).toContain('auraison-edge.js run');
      if (ending === 'Gazebo killed') {
        // Gazebo gone (a crash): the launch shuts down, so the daemon is not left driving a sim that is not there.
        const [gazebo] = [...tree].find(([, c]) => /maze\.sdf/.test(c) && !c.includes('launch'))!;
        process.kill(gazebo, 'SIGKILL');
      } else {
        // One SIGINT to the launch process alone, as a supervisor sends it: launch passes it on to all it began.
        process.kill(launch.pid!, 'SIGINT');
      }
      const code = await new Promise<number | null>((resolve) =>
        launch.exitCode !== null ? resolve(launch.exitCode) : launch.once('exit', resolve),
      );
      const left = await waitForValue(
        () => [...tree].filter(([pid]) => alive(pid)).length === 0 || undefined,
        `every process ros2 launch started to end: ${[...tree].filter(([p]) => alive(p)).map(([, c]) => c)}`,
        60_000,
      ).catch(() => [...tree].filter(([pid]) => alive(pid)).map(([, c]) => c));
      expect(left).toBe(true);
      if (ending === 'Gazebo killed')
        expect(launch.output()).toMatch(/process\[gazebo-1\] was required: shutting down/);
      else {
        expect(code).toBe(0);
        expect(launch.output()).toMatch(/process has finished cleanly|exited with code 0|SIGINT/);
      }
    },
    600_000,
  );
});
