import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: lint/parts.js is plain JavaScript without declarations
import { importsOf, repoPath, ROOT, sourceFiles } from '../../lint/parts.js';

// The rule of docs/testing.md, "Where a test lives": a test beside a source names a module beside it and runs no
// daemon, CLI or peer, not even through a helper under test/.

interface Import {
  spec: string;
  typeOnly: boolean;
}
const imports = importsOf as (text: string) => Import[];
const rel = repoPath as (file: string) => string;

/** Beside-source tests whose name is not `<module>.test.ts` or `<module>.<aspect>.test.ts`, and why. */
const NAME_EXCEPTIONS: Record<string, string> = {};

/** What makes a test one that lives under test/: a repository path (a folder ends in /) and what it does. */
const MARKS: [string, string][] = [
  ['test/helpers/daemon.ts', 'starts a daemon'],
  ['test/helpers/cli.ts', 'runs the CLI'],
  ['test/peers/', 'uses a peer'],
  ['daemon/daemon.ts', 'runs the daemon'],
  ['daemon/cli/main.ts', 'runs the CLI'],
  ['bin/', 'runs the CLI'],
];
/** Text that starts the CLI or names a peer without importing it: the binary's file, test/peers' folder. */
const MARK_TEXT = /auraison-edge\.js|test\/peers\//;

const besideTests = (sourceFiles() as string[]).filter((f) => f.endsWith('.test.ts')).map(rel);

/** The modules a test's name may name: `x` of `x.test.ts`, and of `x.aspect.test.ts`. */
function namedModules(test: string): string[] {
  const stem = basename(test, '.test.ts');
  const dot = stem.lastIndexOf('.');
  return dot > 0 ? [stem, stem.slice(0, dot)] : [stem];
}

function namesItsModule(test: string): boolean {
  return namedModules(test).some((m) => existsSync(join(ROOT, dirname(test), `${m}.ts`)));
}

/**
 * The marks a test reaches, each as the chain of files that leads to it: its own imports (type-only ones aside,
 * they load nothing) and, through them, those of every module under test/ it loads.
 */
function marksReached(test: string): string[] {
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (file: string, chain: string[]) => {
    // importsOf also sees an import inside a string (a test that writes a module): no file, nothing loaded
    if (seen.has(file) || !existsSync(join(ROOT, file))) return;
    seen.add(file);
    const text = readFileSync(join(ROOT, file), 'utf8');
    const named = MARK_TEXT.exec(text);
    if (named) found.push(`${[...chain, file].join(' -> ')} names ${named[0]}`);
    for (const imp of imports(text)) {
      if (imp.typeOnly) continue;
      const to = rel(resolve(ROOT, dirname(file), imp.spec));
      const mark = MARKS.find(([path]) => (path.endsWith('/') ? to.startsWith(path) : to === path));
      if (mark) found.push(`${[...chain, file, to].join(' -> ')} (${mark[1]})`);
      else if (to.startsWith('test/')) walk(to, [...chain, file]);
    }
  };
  walk(test, []);
  return found;
}

/** Every test file under test/, for the check that the marks are seen where they are. */
function testTreeTests(dir = 'test'): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((e) => {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory()) return e.name === 'fixtures' || e.name.startsWith('.') ? [] : testTreeTests(path);
    return e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/**
 * Areas under test/ that are not named after a part, and why: what they share (helpers, fixtures, peers, doubles), or
 * the peer they test the parts against, where the test is of that peer's wire and several parts meet.
 */
const AREA_EXCEPTIONS: Record<string, string> = {
  helpers: 'what the tests share: the daemon and CLI runners, waits, temporary folders',
  fixtures: 'files the tests read',
  peers: 'the peers from registries (their installs, small mains of our own)',
  doubles: 'the hand-written doubles no registry offers (docs/verified.md)',
  arm: 'the MuJoCo SO-101 and LeRobot: motion, system1 and the lerobot adapter driving one arm',
  ros2: 'ROS 2 built by hand: the ros adapter, bags and launch against ros2cli and rosbag2',
  rclpy: "ROS 2's Python client from PyPI against the ros adapter and the stop service",
  'rcl-api': "the rclnodejs API the ros adapter uses, type-checked against rclnodejs's own declarations",
  ros2dds: 'zenoh-bridge-ros2dds between a DDS graph and the zenoh adapter',
  gazebo: 'the sim bridged to Gazebo through ros_gz',
  'gazebo-live': 'a hand-built Gazebo with ros_gz',
  joined: 'two robot graphs joined through the daemon: the ros and zenoh adapters and their relays together',
  interop: "other tools' readers and writers (rosbags, LeRobot, pyarrow) of what the bags and lakehouse write",
  fuzz: 'every input door fed malformed input',
  'crash-torture': 'the daemon killed at every step of its durable writes',
};

/** What an area may be named after: a part's last name (daemon/bus: bus, adapters/ros: ros, daemon/log.ts: log). */
function partNames(): Set<string> {
  const names = new Set(['sim', 'central', 'central-link', 'systemd', 'launch', 'lint', 'docs', 'bench', 'bin']);
  for (const top of ['daemon', 'adapters'])
    for (const e of readdirSync(join(ROOT, top), { withFileTypes: true }))
      if (e.isDirectory()) names.add(e.name);
      else if (top === 'daemon' && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
        names.add(basename(e.name, '.ts'));
  return names;
}

/** The areas under test/: its folders. */
const areas = readdirSync(join(ROOT, 'test'), { withFileTypes: true })
  .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
  .map((e) => e.name);

describe('the areas under test/ (docs/testing.md)', () => {
  it('are named after the part they test, `<part>` or `<part>-<aspect>`, or listed with why they are not', () => {
    const parts = partNames();
    const named = (area: string) =>
      parts.has(area) || [...parts].some((part) => area.startsWith(`${part}-`) && area.length > part.length + 1);
    expect(areas.filter((a) => !named(a) && !(a in AREA_EXCEPTIONS))).toEqual([]);
  });

  it('list as exceptions only areas that are there and are not named after a part', () => {
    const parts = partNames();
    expect(Object.keys(AREA_EXCEPTIONS).filter((a) => !areas.includes(a) || parts.has(a))).toEqual([]);
    expect(areas.length).toBeGreaterThan(20);
  });
});

describe('where a test lives (docs/testing.md)', () => {
  it('names a module beside it: x.test.ts or x.<aspect>.test.ts next to x.ts', () => {
    const unnamed = besideTests.filter((t) => !namesItsModule(t) && !(t in NAME_EXCEPTIONS));
    expect(unnamed).toEqual([]);
  });

  it('lists as exceptions only tests that are there and still need it', () => {
    const stale = Object.keys(NAME_EXCEPTIONS).filter((t) => !besideTests.includes(t) || namesItsModule(t));
    expect(stale).toEqual([]);
  });

  it('runs no daemon, CLI or peer beside a source, directly or through a helper under test/', () => {
    expect(besideTests.flatMap(marksReached)).toEqual([]);
  });

  it('sees what it checks (an empty scan, or a scan blind to the marks, would pass everything)', () => {
    expect(besideTests.length).toBeGreaterThan(100);
    // the tests under test/ that run the CLI, a daemon or a peer are many; a walk that finds none is broken
    const marked = testTreeTests().filter((t) => marksReached(t).length > 0);
    expect(marked.length).toBeGreaterThan(400);
    for (const [path] of MARKS) expect(existsSync(join(ROOT, path)), path).toBe(true);
  });
});
