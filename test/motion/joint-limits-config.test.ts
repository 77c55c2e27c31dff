import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// motion.joints: the URDF file is found beside the config, read by `config check` and `run` before anything
// starts, and one that cannot be used refuses the config (exit 2) with the key named.

const cleanups = cleanupStack();

const CHECK = ['config', 'check'];
const ARM = `<robot name="arm">
  <joint name="pan" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>
</robot>`;

/** A config folder holding `urdf` as arm.urdf, checked from another folder with `command`. */
async function cli(command: string[], joints: string, urdf = ARM): Promise<{ code: number; text: string }> {
  const dir = tempDir('joint-limits-');
  cleanups.push(dir.cleanup);
  mkdirSync(join(dir.path, 'robot'));
  writeFileSync(join(dir.path, 'robot', 'arm.urdf'), urdf);
  const file = join(dir.path, 'robot', 'edge.yaml');
  writeFileSync(file, `data_dir: ./data\napi: {port: 0}\nfoxglove: {port: 0}\nmotion:\n  joints:\n${joints}\n`);
  const r = await runMain([...command, '--config', file], { cwd: dir.path });
  return { code: r.code ?? -1, text: r.stdout + r.stderr };
}

describe('motion.joints in the config', () => {
  it('finds the URDF beside the config file, whatever folder the command runs in', async () => {
    const { code, text } = await cli(CHECK, '    urdf: arm.urdf');
    expect(code, text).toBe(0);
  });

  it('refuses a URDF that lacks a joint limit, in config check and in run, naming motion.joints.urdf', async () => {
    const bad = '<robot><joint name="pan" type="revolute"/></robot>';
    for (const command of [CHECK, ['run']]) {
      const { code, text } = await cli(command, '    urdf: arm.urdf', bad);
      expect(code, text).toBe(2);
      expect(text).toMatch(/motion\.joints\.urdf: \S+arm\.urdf: joint "pan" is revolute with no <limit>/);
    }
  });

  it('refuses motion.joints with no source of limits, or two, and a topic that lists a joint twice', async () => {
    const none = await cli(CHECK, '    mode: clamp');
    expect(none.code).toBe(2);
    expect(none.text).toMatch(/motion\.joints: give urdf .* or robot_description/);
    const both = await cli(CHECK, '    urdf: arm.urdf\n    robot_description: /robot_description');
    expect(both.text).toMatch(/motion\.joints: urdf and robot_description are both given/);
    const twice = await cli(CHECK, '    urdf: arm.urdf\n    topics: {/forward/commands: [pan, pan]}');
    expect(twice.text).toMatch(
      /motion\.joints\.topics\["\/forward\/commands"\]: "pan" listed twice: list each joint its controller commands once/,
    );
  });
});
