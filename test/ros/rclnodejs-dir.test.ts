import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { importRclnodejs } from '../../adapters/ros/index.ts';
import { rclnodejsRoot } from '../../adapters/ros/local-type-support.ts';
import { tempDir } from '../helpers/cli.ts';

/**
 * `ros.rclnodejs`: the folder an rclnodejs is installed under, for one built outside the daemon's folder (the ROS 2
 * test peer's, or a robot's shared install). The real one is loaded so by every test of test/rclpy; here, what the
 * option takes and refuses, with a stand-in package.
 */

const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((undo) => undo()));

/** A folder with node_modules/rclnodejs holding a CommonJS module that says which one it is. */
function fakeInstall(mark: string): string {
  const dir = tempDir('rclnodejs-dir-');
  cleanups.push(dir.cleanup);
  const pkg = join(dir.path, 'node_modules', 'rclnodejs');
  mkdirSync(join(pkg, 'dist'), { recursive: true });
  writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: 'rclnodejs', main: './dist/index.cjs' }));
  writeFileSync(
    join(pkg, 'dist', 'index.cjs'),
    `exports.mark = ${JSON.stringify(mark)}; exports.init = async () => {}; exports.Node = class {}; ` +
      'exports.QoS = class {};',
  );
  return dir.path;
}

describe('ros.rclnodejs', () => {
  it('loads the rclnodejs installed under the folder it names, and rclnodejs generates into that one', async () => {
    const dir = fakeInstall('the one under ros.rclnodejs');
    const rcl = (await importRclnodejs({ env: { ROS_DISTRO: 'jazzy' }, from: dir })) as unknown as { mark: string };
    expect(rcl.mark).toBe('the one under ros.rclnodejs');
    expect(rclnodejsRoot(dir)).toBe(join(dir, 'node_modules', 'rclnodejs'));
  });

  it('refuses a folder with no rclnodejs under it, naming it and the install command, though a parent has one', async () => {
    const parent = fakeInstall('a parent folder');
    const inner = join(parent, 'inner');
    mkdirSync(inner);
    await expect(importRclnodejs({ env: { ROS_DISTRO: 'kilted' }, from: inner })).rejects.toThrow(
      `ros.rclnodejs is ${inner} but there is no rclnodejs under it (${join(inner, 'node_modules', 'rclnodejs')}): ` +
        `install it there with \`npm install --prefix ${inner} rclnodejs@2.2.0\` where ROS 2 is sourced`,
    );
  });

  it("says rclnodejs failed to load when the one it names throws, as for the daemon's own", async () => {
    const dir = fakeInstall('broken');
    writeFileSync(
      join(dir, 'node_modules', 'rclnodejs', 'dist', 'index.cjs'),
      "throw new Error('undefined symbol: PyExc_RuntimeError');",
    );
    await expect(importRclnodejs({ env: { ROS_DISTRO: 'jazzy' }, from: dir })).rejects.toThrow(
      /^rclnodejs failed to load under ROS_DISTRO=jazzy \(undefined symbol: PyExc_RuntimeError\)/,
    );
  });
});
