// launch/gazebo_maze.launch.{xml,py}, read with Python's own parsers (ROS 2 cannot be installed here, so they are
// not run): well formed, only launch_xml's documented tags, attributes and substitutions, and every argument,
// package, executable, parameter and file they name declared, documented or written by --export-world.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPeer } from '../peers/index.ts';
import { exportWorld, inspect, LAUNCH_DIR } from './exported.ts';
import { LAUNCH_PY_KWARGS, LAUNCH_SUBSTITUTIONS, LAUNCH_XML_TAGS, ROS_PACKAGES } from './ros-gz-reference.ts';

type XmlElement = { tag: string; attrs: Record<string, string>; parent: string | null };
type LaunchPy = {
  declared: string[];
  used: string[];
  nodes: { package: string; executable: string; parameters: string[]; arguments: string[] }[];
  share_dirs: string[];
  joined_paths: string[][];
  constants: Record<string, unknown>;
  include_args: string[];
  imports: string[];
};

const XML = join(LAUNCH_DIR, 'gazebo_maze.launch.xml');
const PY = join(LAUNCH_DIR, 'gazebo_maze.launch.py');
let exported: { dir: string; cleanup: () => void };
let elements: XmlElement[];
let py: LaunchPy;

beforeAll(async () => {
  exported = await exportWorld(7);
  elements = (await inspect<{ elements: XmlElement[] }>('launch-xml', XML)).elements;
  py = await inspect<LaunchPy>('launch-py', PY);
});
afterAll(() => exported.cleanup());

/** A node's names (parameters, arguments) that its package's documentation does not list. */
function undocumented(pkg: string, exec: string, names: string[]): string[] {
  const known = ROS_PACKAGES[pkg]?.executables[exec];
  if (!known) return [`${pkg} ${exec}`];
  return names.filter((n) => n !== 'use_sim_time' && !known.includes(n));
}

const substitutions = (value: string) => [...value.matchAll(/\$\(([\w-]+)(?: ([^)$]*))?/g)];

describe('launch/gazebo_maze.launch.xml', () => {
  it("is well formed to Python's XML parser, which refuses what launch's parser would", async () => {
    expect(elements[0]).toMatchObject({ tag: 'launch', parent: null });
    const broken = join(exported.dir, 'broken.launch.xml');
    // A double hyphen inside a comment: the mistake an option name in a usage comment makes.
    writeFileSync(broken, readFileSync(XML, 'utf8').replace('<launch>', '<!-- run --export-world --><launch>'));
    await expect(inspect('launch-xml', broken)).rejects.toThrow(/not well-formed/);
  });

  it("uses only launch_xml's tags, each where it may stand, with the attributes its parser reads", () => {
    const problems: string[] = [];
    for (const { tag, attrs, parent } of elements) {
      const spec = LAUNCH_XML_TAGS[tag];
      if (!spec) {
        problems.push(`unknown tag <${tag}>`);
        continue;
      }
      if (!spec.parents.includes(parent)) problems.push(`<${tag}> inside <${parent}>`);
      for (const a of Object.keys(attrs)) if (!spec.attrs.includes(a)) problems.push(`<${tag} ${a}=...>`);
    }
    expect(problems).toEqual([]);
    expect(elements.length).toBeGreaterThan(10);
  });

  it("uses only launch's substitutions, and every $(var) is an argument or a let", () => {
    const declared = elements.filter((e) => e.tag === 'arg' || e.tag === 'let').map((e) => e.attrs.name);
    const problems: string[] = [];
    for (const e of elements) {
      for (const value of Object.values(e.attrs)) {
        for (const [, name, arg] of substitutions(value)) {
          if (!LAUNCH_SUBSTITUTIONS.includes(name!)) problems.push(`$(${name}) in <${e.tag}>`);
          if (name === 'var' && !declared.includes(arg!)) problems.push(`$(var ${arg}) is not declared`);
          if (name === 'find-pkg-share' && !(arg! in ROS_PACKAGES)) problems.push(`package ${arg}`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('evaluates its $(eval) lets to what they mean, for every adapter, gui and config', async () => {
    const lets = elements.filter((e) => e.tag === 'let' && e.attrs.value!.startsWith('$(eval '));
    expect(lets.map((e) => e.attrs.name).sort()).toEqual([
      'daemon_config',
      'fortress',
      'gz_cli',
      'gz_verb',
      'headless',
      'server_only',
      'use_zenoh',
    ]);
    for (const adapter of ['ros2', 'zenoh'])
      for (const [gui, config, headless, release, env] of [
        ['true', '', 'false', '', undefined],
        ['false', '/etc/auraison-edge/edge.yaml', 'true', 'fortress', undefined],
        ['true', '', 'false', '', 'fortress'],
      ] as const) {
        const vars: Record<string, string> = {
          adapter,
          gui,
          config,
          world_dir: '/tmp/maze',
          headless_rendering: headless,
          gz_version: release,
        };
        // As launch does, let by let in order (a let may read an earlier one): $(var) and $(env) first, then the
        // single-quoted argument unescaped, then Python's eval.
        const code = 'import sys; print(str(eval(sys.argv[1])))';
        const byName: Record<string, string> = {};
        for (const e of lets) {
          const expression = /^\$\(eval '(.*)'\)$/
            .exec(e.attrs.value!)![1]!
            .replace(/\$\(var (\w+)\)/g, (_, name: string) => vars[name] ?? byName[name]!)
            // $(env NAME DEFAULT): the variable where it is set, else the default.
            .replace(/\$\(env GZ_VERSION (\w+)\)/g, (_, fallback: string) => env ?? fallback)
            .replaceAll("\\'", "'");
          byName[e.attrs.name!] = (await runPeer('python3', ['-c', code, expression])).trim();
        }
        expect(byName).toEqual({
          use_zenoh: String(adapter === 'zenoh').replace(/^./, (c) => c.toUpperCase()),
          server_only: gui === 'true' ? '' : '-s',
          daemon_config: config || `/tmp/maze/edge.${adapter}.yaml`,
          headless: headless === 'true' ? '--headless-rendering' : '',
          fortress: String((release || env) === 'fortress').replace(/^./, (c) => c.toUpperCase()),
          gz_cli: (release || env) === 'fortress' ? 'ign' : 'gz',
          gz_verb: (release || env) === 'fortress' ? 'gazebo' : 'sim',
        });
      }
  });

  it('starts documented executables of the packages it names, with documented parameters', () => {
    const problems = elements
      .filter((e) => e.tag === 'node')
      .flatMap((node, i) => {
        const params = elements.filter((e) => e.tag === 'param').map((e) => e.attrs.name!);
        const own = params.filter((_, j) => paramOwner(j) === i);
        const args = (node.attrs.args ?? '').split(' ').filter(Boolean);
        return undocumented(node.attrs.pkg!, node.attrs.exec!, [...own, ...args]);
      });
    expect(problems).toEqual([]);
  });

  it('starts Gazebo as its own process, no shell between, and names only files the export writes', () => {
    // Through a shell (ros_gz_sim's gz_sim.launch.py), a SIGINT to ros2 launch left Gazebo running.
    expect(elements.filter((e) => e.tag === 'include')).toEqual([]);
    const gazebo = elements.find((e) => e.tag === 'executable' && e.attrs.name === 'gazebo')!;
    expect(gazebo.attrs.cmd).toBe(
      '$(var gz_cli) $(var gz_verb) -r $(var server_only) $(var headless) $(var world_dir)/maze.sdf',
    );
    expect(gazebo.attrs.shell).toBeUndefined();
    // Gazebo gone ends the launch, as ros_gz_sim's on_exit_shutdown did.
    expect(gazebo.attrs.on_exit).toBe('shutdown');
    const adapters = elements.filter((e) => e.tag === 'choice' && /ros2|zenoh/.test(e.attrs.value!));
    const files = new Set<string>();
    for (const e of elements)
      for (const value of Object.values(e.attrs))
        for (const choice of adapters)
          for (const m of value
            .replaceAll('$(var adapter)', choice.attrs.value!)
            .matchAll(/\$\(var world_dir\)\/([\w.-]+)/g))
            files.add(m[1]!);
    expect([...files].filter((f) => !existsSync(join(exported.dir, f)))).toEqual([]);
    expect(files.size).toBeGreaterThanOrEqual(6);
    const daemon = elements.find((e) => e.tag === 'executable' && e.attrs.cmd!.includes('auraison-edge.js'))!;
    // The launch file's own folder, taken by a let before any action: a $(dirname) evaluated after an include
    // gave the included file's folder under the real ros2 launch.
    const here = elements.findIndex((e) => e.tag === 'let' && e.attrs.value === '$(dirname)');
    expect(here).toBeGreaterThanOrEqual(0);
    expect(here).toBeLessThan(elements.findIndex((e) => e.tag === 'executable'));
    expect(elements.filter((e) => Object.values(e.attrs).some((v) => v.includes('$(dirname)')))).toHaveLength(1);
    const name = elements[here]!.attrs.name!;
    const bin = new RegExp(`\\$\\(var ${name}\\)(\\/\\S+)`).exec(daemon.attrs.cmd!)![1]!;
    expect(existsSync(join(LAUNCH_DIR, bin))).toBe(true);
  });
});

/** Which <node> (by its index among nodes) a <param> (by its index among params) belongs to. */
function paramOwner(paramIndex: number): number {
  let node = -1;
  let param = -1;
  for (const e of elements) {
    if (e.tag === 'node') node++;
    if (e.tag === 'param' && ++param === paramIndex) return node;
  }
  return -1;
}

describe('launch/gazebo_maze.launch.py', () => {
  it('declares every launch argument it reads, and reads every one it declares', () => {
    expect([...new Set(py.used)].sort()).toEqual([...py.declared].sort());
  });

  it('declares the same arguments and starts the same nodes as the XML file', () => {
    const xmlArgs = elements.filter((e) => e.tag === 'arg').map((e) => e.attrs.name);
    expect(py.declared.sort()).toEqual(xmlArgs.sort());
    const xmlNodes = elements.filter((e) => e.tag === 'node').map((e) => `${e.attrs.pkg} ${e.attrs.exec}`);
    expect(py.nodes.map((n) => `${n.package} ${n.executable}`).sort()).toEqual(xmlNodes.sort());
  });

  it('imports only from launch and launch_ros', () => {
    expect(py.imports.filter((i) => !/^(launch|launch_ros)\./.test(i))).toEqual([]);
  });

  it('starts documented executables of the packages it names, with documented parameters', () => {
    const problems = py.nodes.flatMap((n) => undocumented(n.package, n.executable, [...n.parameters, ...n.arguments]));
    expect(problems).toEqual([]);
    expect(py.share_dirs).toEqual([]);
    expect(py.include_args).toEqual([]);
  });

  it('names only files the export writes, and the CLI it runs exists', () => {
    const { DAEMON_CONFIGS, ...rest } = py.constants;
    const files = [
      ...Object.entries(rest)
        .filter(([k]) => k.endsWith('_FILE'))
        .map(([, v]) => v as string),
      ...Object.values(DAEMON_CONFIGS as Record<string, string>),
    ];
    expect(files.sort()).toEqual(
      readdirSync(exported.dir)
        .filter((f) => files.includes(f))
        .sort(),
    );
    expect(files.length).toBe(6);
    expect(py.joined_paths).toContainEqual(['*', '..', 'bin', 'auraison-edge.js']);
    expect(existsSync(resolve(LAUNCH_DIR, '..', 'bin', 'auraison-edge.js'))).toBe(true);
  });
});

type Recorded = { action: string; args: unknown[]; kwargs: Record<string, unknown> } | { error: string };

/** The actions the Python launch file makes for these arguments, run against stand-ins of launch (run_launch_py.py). */
async function runLaunchPy(args: Record<string, string>): Promise<Recorded[]> {
  const script = join(LAUNCH_DIR, '..', 'test', 'gazebo', 'run_launch_py.py');
  return JSON.parse(await runPeer('python3', [script, PY, JSON.stringify(args)])) as Recorded[];
}

/** Every action, nested ones (an include's source) too. */
function flatten(actions: unknown[]): Extract<Recorded, { action: string }>[] {
  return actions.flatMap((a) => {
    if (!a || typeof a !== 'object' || !('action' in a)) return [];
    const r = a as Extract<Recorded, { action: string }>;
    return [r, ...flatten([...r.args, ...Object.values(r.kwargs)])];
  });
}

describe('launch/gazebo_maze.launch.py, run against stand-ins of launch and launch_ros', () => {
  it.each(['ros2', 'zenoh'])(
    'with adapter:=%s, starts Gazebo on the export, the bridge and the daemon',
    async (adapter) => {
      const actions = await runLaunchPy({ world_dir: exported.dir, adapter });
      expect(actions.filter((a) => 'error' in a)).toEqual([]);
      const all = flatten(actions);
      const problems = all.flatMap((a) =>
        Object.keys(a.kwargs)
          .filter((k) => !(LAUNCH_PY_KWARGS[a.action] ?? []).includes(k))
          .map((k) => `${a.action}(${k}=...)`),
      );
      expect(problems).toEqual([]);
      const gazebo = all.find((a) => a.action === 'ExecuteProcess' && a.kwargs.name === 'gazebo')!;
      expect(gazebo.kwargs.cmd).toEqual(['gz', 'sim', '-r', join(exported.dir, 'maze.sdf')]);
      expect(gazebo.kwargs.shell).toBeUndefined();
      expect(gazebo.kwargs.on_exit).toMatchObject({ action: 'Shutdown' });
      const daemon = all.find((a) => a.action === 'ExecuteProcess' && String(a.kwargs.cmd).includes('auraison-edge'))!;
      const cmd = daemon.kwargs.cmd as string[];
      expect(cmd.slice(2)).toEqual(['run', '--config', join(exported.dir, `edge.${adapter}.yaml`)]);
      expect(existsSync(cmd[1]!)).toBe(true);
      const rmw = all.filter((a) => a.action === 'SetEnvironmentVariable').map((a) => a.args);
      expect(rmw).toEqual(adapter === 'zenoh' ? [['RMW_IMPLEMENTATION', 'rmw_zenoh_cpp']] : []);
      // The variable is set before the first node starts: actions run in the order given.
      if (adapter === 'zenoh')
        expect(all.findIndex((a) => a.action === 'SetEnvironmentVariable')).toBeLessThan(
          all.findIndex((a) => a.action === 'Node'),
        );
    },
  );

  it('leaves out robot_state_publisher, the map -> odom transform and map_server when asked, and runs config:=', async () => {
    const config = join(exported.dir, 'mine.yaml');
    const actions = await runLaunchPy({
      world_dir: exported.dir,
      state_publisher: 'false',
      map_server: 'false',
      config,
      gui: 'false',
      headless_rendering: 'true',
      gz_version: 'fortress',
    });
    expect(actions.filter((a) => 'error' in a)).toEqual([]);
    const all = flatten(actions);
    const nodes = all.filter((a) => a.action === 'Node').map((a) => a.kwargs.package);
    expect(nodes).toEqual(['ros_gz_bridge']);
    const gazebo = all.find((a) => a.action === 'ExecuteProcess' && a.kwargs.name === 'gazebo')!;
    expect(gazebo.kwargs.cmd).toEqual([
      'ign',
      'gazebo',
      '-r',
      '-s',
      '--headless-rendering',
      join(exported.dir, 'maze.sdf'),
    ]);
    const daemon = all.find((a) => a.action === 'ExecuteProcess' && String(a.kwargs.cmd).includes('auraison-edge'))!;
    expect((daemon.kwargs.cmd as string[]).slice(2)).toEqual(['run', '--config', config]);
  });

  it('stops with the export command when world_dir lacks the exported files', async () => {
    const actions = await runLaunchPy({ world_dir: join(exported.dir, 'nowhere') });
    expect(actions.at(-1)).toEqual({
      error: expect.stringContaining('run `auraison-edge sim turtlebot-maze --export-world'),
    });
  });
});
