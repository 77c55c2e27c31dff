// The packages the daemon loads at run time are the ones package.json gives as dependencies: a user's install
// (`npm ci --omit=dev`, `npm install -g`) has exactly those. @foxglove/cdr was a devDependency loaded at run time,
// @foxglove/message-definition was named by 11 modules and declared nowhere, uuid a dependency only a test used, and
// the two AWS SDK packages, released together, were at two versions.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tempDir } from '../helpers/cli.ts';
import { checkDependencies, cliEntries, type PackageJson } from './dependency-check.ts';

/** Dependencies that no module of ours imports, loaded by a package that does. */
const LOADED_BY_OTHERS = {
  bufferutil: "ws loads it when present, to mask and unmask frames natively (docs/bridges.md: zenoh-ts's socket)",
};
const RELEASED_TOGETHER = ['@aws-sdk/', '@duckdb/', '@mariozechner/pi-'];

const work = tempDir('dependencies-declared-');
afterAll(() => work.cleanup());

describe("the run-time code's packages", () => {
  it('are the dependencies package.json declares, each used, the packages released together at one version', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
    const report = checkDependencies(ROOT, pkg, {
      entries: cliEntries(ROOT),
      loadedByOthers: LOADED_BY_OTHERS,
      releasedTogether: RELEASED_TOGETHER,
    });
    expect(report.problems).toEqual([]);
    // Not a vacuous pass: the walk reached the daemon's parts, its worker threads and the packages they load.
    expect(report.modules).toEqual(
      expect.arrayContaining([
        'daemon/daemon.ts',
        'daemon/system1/control/loop-worker.ts',
        'central-link/mqtt-connection.ts',
        'sim/turtlebot-maze/turtlebot-maze-sim.ts',
      ]),
    );
    expect([...report.packages.keys()]).toEqual(
      expect.arrayContaining(['fastify', '@foxglove/cdr', '@foxglove/message-definition', 'onnxruntime-node', 'tsx']),
    );
    // A helper beside the sources that only tests use (it imports vitest) is not run-time code.
    expect(report.modules).not.toContain('daemon/recorder/recorder-fixture.ts');
    // The reference central is a package of its own, loaded by its name where installed: its code is not the root's.
    expect(report.packages.has('@auraison-edge/central')).toBe(true);
    expect(report.modules.filter((m) => m.startsWith('central/'))).toEqual([]);
  });

  it("are, for the reference central, the dependencies central/package.json declares (the AWS SDK's among them)", () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'central', 'package.json'), 'utf8')) as PackageJson;
    const report = checkDependencies(ROOT, pkg, {
      entries: [join('central', 'cli', 'index.ts')],
      releasedTogether: RELEASED_TOGETHER,
    });
    expect(report.problems).toEqual([]);
    expect(report.modules).toEqual(expect.arrayContaining(['central/serve.ts', 'central/presign.ts']));
    expect([...report.packages.keys()]).toEqual(
      expect.arrayContaining(['auraison-edge', '@aws-sdk/client-s3', 'fastify', '@duckdb/node-api']),
    );
    expect(report.modules.filter((m) => !m.startsWith('central/'))).toEqual([]);
  });

  it('are checked as a user would find them wrong, each problem named with what to do', () => {
    const file = (path: string, text: string) => {
      mkdirSync(dirname(join(work.path, path)), { recursive: true });
      writeFileSync(join(work.path, path), text);
    };
    file('main.ts', "import { a } from './part/index.ts';\nimport type { T } from 'types-only';\nexport { a };\n");
    file('part/index.ts', "export const a = await import('dev-only');\nexport { workerEntry } from 'other';\n");
    file('part/start.ts', "workerEntry('part/worker');\n");
    file('part/worker.ts', "import { createRequire } from 'node:module';\ncreateRequire(import.meta.url)('native');\n");
    file('part/fixture.ts', "import { it } from 'vitest';\n");
    file('spawner.ts', "import './part/start.ts';\n");
    const report = checkDependencies(
      work.path,
      {
        dependencies: { other: '1', 'test-only': '1', 'sdk-a': '2.0.0', 'sdk-b': '2.1.0', native: '1' },
        devDependencies: { 'dev-only': '1', vitest: '1' },
      },
      {
        entries: ['main.ts', 'spawner.ts'],
        releasedTogether: ['sdk-'],
        loadedByOthers: { 'sdk-a': 'x', 'sdk-b': 'y' },
      },
    );
    expect(report.problems).toEqual([
      "main.ts imports types-only, which is not declared: npm ci --omit=dev (and a user's install) would lack it; move it to dependencies",
      "part/index.ts imports dev-only, which is a devDependency: npm ci --omit=dev (and a user's install) would lack it; move it to dependencies",
      'test-only is a dependency that no run-time module imports: move it to devDependencies if tests use it, or drop it (a dependency something else loads goes in the check\'s "loaded by others", with why)',
      'the sdk- packages are released together but declared at different versions (sdk-a 2.0.0, sdk-b 2.1.0): declare them at one',
    ]);
    expect(report.modules).toContain('part/worker.ts');
    expect(report.modules).not.toContain('part/fixture.ts');
  });
});
