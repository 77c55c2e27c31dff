// The reference central is an npm package of its own (central/, @auraison-edge/central, a workspace of the root): it
// uses the root's code by the names the root's package.json exports (auraison-edge/protocol, auraison-edge/log, ...),
// the root's CLI loads it by its name where it is installed, and a robot's install leaves it and its dependencies out.
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempDir } from '../helpers/cli.ts';

interface Manifest {
  name: string;
  exports?: Record<string, string>;
  workspaces?: string[];
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
}
interface LockedPackage {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
  link?: boolean;
  resolved?: string;
}

const readJson = <T>(path: string) => JSON.parse(readFileSync(join(ROOT, path), 'utf8')) as T;
const root = readJson<Manifest>('package.json');
const central = readJson<Manifest>('central/package.json');

const work = tempDir('central-package-');
afterAll(() => work.cleanup());

/**
 * The packages `npm ci --omit=dev --workspaces=false` installs, as package-lock.json places them: the root's
 * dependencies and optional ones, and theirs in turn (a package's required peers too), found as Node finds a
 * package (the nearest node_modules up from the one that needs it).
 */
function robotInstall(lock: Record<string, LockedPackage>): Set<string> {
  const installed = new Set<string>();
  const visit = (from: string, name: string) => {
    for (let dir = from; ; dir = dir.slice(0, Math.max(0, dir.lastIndexOf('/node_modules/')))) {
      const path = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`;
      if (lock[path] !== undefined) {
        if (!installed.has(path)) {
          installed.add(path);
          needs(lock[path].link ? lock[path].resolved! : path);
        }
        return;
      }
      if (dir === '') return;
    }
  };
  const needs = (path: string) => {
    const entry = lock[path]!;
    const peers = Object.keys(entry.peerDependencies ?? {}).filter((n) => !entry.peerDependenciesMeta?.[n]?.optional);
    for (const name of [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...peers,
    ])
      visit(path, name);
  };
  needs('');
  return installed;
}

describe('the central package', () => {
  it('is a workspace that imports the root by the names the root exports, which tsconfig.json maps alike', () => {
    expect(root.workspaces).toEqual(['central']);
    expect(central.dependencies?.['auraison-edge']).toBe('file:..');
    const { config } = ts.parseConfigFileTextToJson(
      'tsconfig.json',
      readFileSync(join(ROOT, 'tsconfig.json'), 'utf8'),
    ) as { config: { compilerOptions: { paths: Record<string, string[]> } } };
    const exported = (m: Manifest, dir: string) =>
      Object.entries(m.exports ?? {}).map(([sub, file]) => [posix.join(m.name, sub), [`./${posix.join(dir, file)}`]]);
    expect(config.compilerOptions.paths).toEqual(
      Object.fromEntries([...exported(root, '.'), ...exported(central, 'central')]),
    );
    // every name central imports from the root is one the root exports
    const imported = new Set<string>();
    const walk = (dir: string) => {
      for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
        const path = posix.join(dir, e.name);
        if (e.isDirectory()) walk(path);
        else if (e.name.endsWith('.ts'))
          for (const f of ts.preProcessFile(readFileSync(join(ROOT, path), 'utf8'), true, true).importedFiles)
            if (f.fileName.startsWith('auraison-edge')) imported.add(f.fileName);
      }
    };
    walk('central');
    expect(imported.size).toBeGreaterThan(3);
    for (const name of imported)
      expect(Object.keys(root.exports ?? {})).toContain(`./${name.slice('auraison-edge/'.length)}`);
  });

  it("leaves central's own dependencies out of a robot's install, and puts them where the built CLI finds them", () => {
    const { packages } = readJson<{ packages: Record<string, LockedPackage> }>('package-lock.json');
    const robot = robotInstall(packages);
    // Not a vacuous pass: the walk reached the daemon's packages, and theirs.
    expect([...robot]).toEqual(
      expect.arrayContaining(['node_modules/fastify', 'node_modules/@duckdb/node-api', 'node_modules/pino']),
    );
    const centralOnly = Object.keys(central.dependencies ?? {}).filter(
      (name) => root.dependencies?.[name] === undefined && name !== 'auraison-edge',
    );
    expect(centralOnly).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', '@aws-sdk/s3-request-presigner']));
    expect(centralOnly.filter((name) => robot.has(`node_modules/${name}`))).toEqual([]);
    expect(robot.has('node_modules/@auraison-edge/central')).toBe(false);
    // dist/ bundles central's code, whose packages Node looks up from dist/: at the root's node_modules, not nested
    // under central/ (a version apart from the root's would be)
    expect(Object.keys(packages).filter((path) => path.startsWith('central/node_modules/'))).toEqual([]);
    for (const [name, version] of Object.entries(central.dependencies ?? {}))
      if (root.dependencies?.[name] !== undefined)
        expect(`${name} ${version}`).toBe(`${name} ${root.dependencies[name]}`);
  });

  it("says how to install central where a robot's install left it out, and runs where it is installed", async () => {
    // A robot's install beside the built CLI: the root's packages without the central package's link.
    const robot = join(work.path, 'robot');
    mkdirSync(join(robot, 'node_modules'), { recursive: true });
    for (const dir of ['bin', 'dist']) cpSync(join(ROOT, dir), join(robot, dir), { recursive: true });
    writeFileSync(join(robot, 'package.json'), JSON.stringify(root));
    for (const name of readdirSync(join(ROOT, 'node_modules')))
      if (name !== '@auraison-edge' && name !== 'auraison-edge')
        symlinkSync(join(ROOT, 'node_modules', name), join(robot, 'node_modules', name));
    const key = join(work.path, 'central.key');
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(robot, 'bin', 'auraison-edge.js'), 'central', 'keygen', '--out', key],
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      );
    });
    expect(out.stderr).toContain('the reference central is not installed here');
    expect(out.stderr).toContain('npm ci -w central');
    expect(out.code).toBe(1);
    expect(existsSync(key)).toBe(false);

    const installed = await runCli(['central', 'keygen', '--out', key, '--json']);
    expect(installed.stderr).toBe('');
    expect(installed.code).toBe(0);
    expect(existsSync(key)).toBe(true);
  });
});
