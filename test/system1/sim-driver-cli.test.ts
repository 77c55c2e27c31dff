import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli, runMain, tempDir, testConfig } from '../helpers/cli.ts';

describe('sim turtlebot-maze --driver policy (System 1 end to end)', () => {
  it('drives with the ONNX policy in a control loop and reports the loop in the summary', async () => {
    const dir = tempDir('sim-policy-');
    try {
      const r = await runCli(
        [
          'sim',
          'turtlebot-maze',
          '--driver',
          'policy',
          '--speed',
          '4',
          '--duration',
          '12',
          '--json',
          '--config',
          testConfig(dir.path),
        ],
        { cwd: dir.path },
      );
      const summary = JSON.parse(r.stdout) as {
        driver: string;
        distance_m: number;
        collisions: number;
        dropped: number;
        messages: Record<string, number>;
        loop: Record<string, number>;
      };
      expect(summary).toMatchObject({ driver: 'policy', collisions: 0, dropped: 0 });
      expect(r.code).toBe(0);
      expect(summary.distance_m).toBeGreaterThan(0.5); // it moved: the policy's commands reached the robot
      expect(summary.loop.ticks).toBeGreaterThan(50);
      expect(summary.loop.errors).toBe(0);
      expect(summary.loop.commands).toBeGreaterThan(50);
      expect(summary.messages['/cmd_vel']).toBe(summary.loop.commands);
      expect(summary.loop.latency_p99_us).toBeGreaterThan(0);
    } finally {
      dir.cleanup();
    }
  });

  it('exits 1 naming a component of its config that failed to start, though the drive went well', async () => {
    const dir = tempDir('sim-policy-failed-');
    try {
      const config = testConfig(dir.path, `policies:\n  avoid:\n    model: ${join(dir.path, 'missing.onnx')}\n`);
      const args = ['sim', 'turtlebot-maze', '--driver', 'policy', '--speed', '4', '--duration', '2'];
      const r = await runCli([...args, '--config', config], { cwd: dir.path });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stdout).toMatch(/collisions 0/);
      expect(r.stdout).toMatch(/^ {2}failed components \(exit 1\): policies: .*missing\.onnx/m);
      const json = await runCli([...args, '--json', '--config', config], { cwd: dir.path });
      expect(json.code).toBe(1);
      const summary = JSON.parse(json.stdout) as { failed_components: Record<string, string> };
      expect(Object.keys(summary.failed_components)).toEqual(['policies']);
    } finally {
      dir.cleanup();
    }
  });

  it("finds a config's policy model beside the config file when run from another directory", async () => {
    const dir = tempDir('sim-policy-beside-');
    try {
      const robot = join(dir.path, 'robot');
      mkdirSync(robot);
      copyFileSync(join(ROOT, 'sim/turtlebot-maze/policy/avoid.onnx'), join(robot, 'avoid.onnx'));
      const config = testConfig(robot, 'policies:\n  avoid:\n    model: avoid.onnx\n');
      const args = ['sim', 'turtlebot-maze', '--driver', 'policy', '--speed', '4', '--duration', '2', '--json'];
      const r = await runCli([...args, '--config', config], { cwd: dir.path });
      expect(r.code, r.stdout).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ failed_components: {}, collisions: 0 });
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a goal or a speed the wall-clock loop cannot follow', async () => {
    const goal = await runMain(['sim', 'turtlebot-maze', '--driver', 'policy', '--goal', 'charging_dock']);
    expect(goal.code).toBe(2);
    expect(goal.stderr).toContain('--goal is for --driver nav');
    const fast = await runMain(['sim', 'turtlebot-maze', '--driver', 'policy', '--speed', '50']);
    expect(fast.code).toBe(2);
    expect(fast.stderr).toContain('too fast for --driver policy');
    const bad = await runMain(['sim', 'turtlebot-maze', '--driver', 'teleop']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--driver: expected nav or policy, got "teleop"');
  });
});
