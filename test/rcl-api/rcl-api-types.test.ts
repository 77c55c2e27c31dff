import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ros2Peer, ROS2_DISTROS, type Ros2Distro } from '../peers/ros2.ts';

const TSC = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const CHECK = resolve('test/rcl-api/rcl-api.check.ts');
const DECLARATION = resolve('adapters/ros/rcl-api.ts');
// Each tsc run reads @types/node and rclnodejs's declarations: seconds alone, a minute on a loaded machine.

/** The rclnodejs package the ROS 2 peer built against `distro`'s wheels. */
const installed = (distro: Ros2Distro) => join(ros2Peer(distro).rclnodejs, 'node_modules', 'rclnodejs');

/** tsc over `check` with rclnodejs mapped to the installed copy's own declarations: its exit status and output. */
function compile(dir: string, check: string, rclnodejs: string): { status: number | null; output: string } {
  const config = join(dir, `tsconfig-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(
    config,
    JSON.stringify({
      extends: resolve('test/rcl-api/tsconfig.json'),
      // A file, not the package's folder: an ES module's import of a folder is no import, and tsc would go on to
      // node_modules/rclnodejs (where the project's optional dependency has no generated interfaces).
      compilerOptions: {
        paths: { rclnodejs: [join(rclnodejs, 'types', 'index.d.ts')] },
        // @types/node from the project: a config outside it finds none of its own
        typeRoots: [resolve('node_modules/@types')],
      },
      include: [],
      files: [check],
    }),
  );
  const run = spawnSync(process.execPath, [TSC, '-p', config, '--listFiles'], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/**
 * adapters/ros/rcl-api.ts declares the part of rclnodejs the bridge uses, written here; this compiles
 * rcl-api.check.ts against rclnodejs 2.2.0's own declarations as the ROS 2 peer's build installed them (with the
 * types/interfaces.d.ts its install generated), so the declaration cannot drift from rclnodejs unseen.
 */
describe("the bridge's declaration of rclnodejs against rclnodejs's own types", () => {
  const dir = mkdtempSync(join(tmpdir(), 'rcl-api-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(ROS2_DISTROS)(
    'is what rclnodejs built on ROS 2 %s declares: module, Node, handles, callbacks',
    (distro) => {
      const rclnodejs = installed(distro);
      const { status, output } = compile(dir, CHECK, rclnodejs);
      expect(output.split('\n').filter((line) => line.includes('error TS'))).toEqual([]);
      expect(status).toBe(0);
      // the declarations compiled are the peer's, generated interfaces included, and ours
      expect(output).toContain(join(rclnodejs, 'types', 'node.d.ts'));
      expect(output).toContain(join(rclnodejs, 'types', 'interfaces.d.ts'));
      expect(output).toContain(DECLARATION);
    },
    180_000,
  );

  it('fails where the declaration drifts: a raw callback taking a string, a service call answering one', () => {
    const rclnodejs = installed('jazzy');
    const declaration = readFileSync(DECLARATION, 'utf8');
    /** The check compiled in a folder of its own, against `text` as the declaration. */
    const compileWith = (text: string) => {
      const copy = mkdtempSync(join(dir, 'copy-'));
      writeFileSync(join(copy, 'package.json'), '{"type": "module"}');
      writeFileSync(join(copy, 'rcl-api.ts'), text);
      const check = join(copy, 'rcl-api.check.ts');
      writeFileSync(check, readFileSync(CHECK, 'utf8').replace('../../adapters/ros/rcl-api.ts', './rcl-api.ts'));
      return compile(copy, check, rclnodejs);
    };
    // the copy as it is passes, so what fails below is the drift alone
    expect(compileWith(declaration).status).toBe(0);
    const drifts = [
      ['callback: (message: Buffer) => void,', 'callback: (message: string) => void,'],
      [
        'sendRequestAsync: (request: object, options: { signal?: AbortSignal }) => Promise<object>;',
        'sendRequestAsync: (request: object, options: { signal?: AbortSignal }) => Promise<string>;',
      ],
    ] as const;
    for (const [from, to] of drifts) {
      expect(declaration).toContain(from);
      const { status, output } = compileWith(declaration.replace(from, to));
      expect(status, `${to} passed the check`).not.toBe(0);
      const errors = output.split('\n').filter((line) => line.includes('error TS'));
      expect(errors.length).toBeGreaterThan(0);
      for (const error of errors) expect(error).toMatch(/rcl-api\.check\.ts\(\d+,\d+\): error TS2322/);
    }
  }, 300_000);
});
