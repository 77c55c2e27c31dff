import { describe, expect, it } from 'vitest';
import { main } from '../../daemon/cli/main.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';

interface Summary {
  reached: boolean;
  outcome: string;
  message: string;
  time_s: number;
  distance_m: number;
  collisions: number;
  messages: Record<string, number>;
  dropped: number;
}

/**
 * Runs `auraison-edge sim turtlebot-maze --json ...args` through the CLI's own main() in this process (the
 * same code as the binary, without its seconds of start-up). The command as a child process, its exit code
 * and stdout, is test/cli/cli.test.ts's (sim logs) and test/system1/sim-driver-cli.test.ts's.
 */
async function drive(args: string[]): Promise<{ code: number | null; summary: Summary }> {
  const dir = tempDir('main-job-');
  try {
    const argv = ['sim', 'turtlebot-maze', '--speed', '1000', '--json', '--config', testConfig(dir.path), ...args];
    let stdout = '';
    const code = await main(argv, { stdout: (t) => (stdout += t), stderr: () => {}, env: process.env, cwd: dir.path });
    return { code, summary: JSON.parse(stdout) as Summary };
  } finally {
    dir.cleanup();
  }
}

describe('the main job: sim turtlebot-maze drives to the goal', () => {
  // Goals all over the default maze, with different noise seeds.
  const cases: [string, number][] = [
    ['far_corner', 1],
    ['charging_dock', 2],
    ['7.55,0.55', 3],
    ['0.55,7.55', 4],
    ['4.55,4.55', 5],
    ['2.55,6.55', 6],
  ];
  for (const [goal, seed] of cases) {
    it(`reaches ${goal} with seed ${seed}, with 0 collisions and nothing dropped`, async () => {
      const { code, summary } = await drive(['--goal', goal, '--seed', String(seed)]);
      expect(summary).toMatchObject({ reached: true, outcome: 'reached', collisions: 0, dropped: 0 });
      expect(code).toBe(0);
      expect(summary.time_s).toBeGreaterThan(0);
      expect(summary.distance_m).toBeGreaterThan(0);
      // It is the daemon's bus traffic: the sim's sensors at their rates, the navigator's commands.
      expect(summary.messages['/scan']).toBeGreaterThan(0);
      expect(summary.messages['/odom']! / summary.messages['/scan']!).toBeCloseTo(6, 0);
      expect(summary.messages['/cmd_vel']).toBeGreaterThan(0);
      expect(summary.messages['/map']).toBe(1);
    });
  }

  it('fails fast with a clear message when the goal is walled off', async () => {
    const { code, summary } = await drive(['--goal', 'closet']);
    expect(code).toBe(1);
    expect(summary).toMatchObject({ reached: false, outcome: 'unreachable', distance_m: 0 });
    expect(summary.message).toMatch(
      /^no path from \(0\.55, 0\.55\) to \(3\.55, 2\.55\): the goal is in an area walled off from the start/,
    );
  });

  it('fails fast when the goal is outside the map or inside a wall', async () => {
    const outside = await drive(['--goal', '20,3']);
    expect(outside.code).toBe(1);
    expect(outside.summary.message).toMatch(/outside the map/);
    const wall = await drive(['--goal', '0,4']);
    expect(wall.code).toBe(1);
    expect(wall.summary.outcome).toBe('unreachable');
  });

  it('gives up at --duration and says so', async () => {
    const { code, summary } = await drive(['--goal', 'far_corner', '--duration', '5']);
    expect(code).toBe(1);
    expect(summary).toMatchObject({ reached: false, outcome: 'timeout' });
    expect(summary.time_s).toBeGreaterThanOrEqual(5);
    expect(summary.time_s).toBeLessThan(5.2);
  });

  it('is deterministic: the same seed gives the same summary', async () => {
    const a = await drive(['--goal', 'charging_dock', '--seed', '9']);
    const b = await drive(['--goal', 'charging_dock', '--seed', '9']);
    expect(b.summary).toEqual(a.summary);
  });

  it('prints a human summary without --json', async () => {
    const dir = tempDir('main-job-');
    try {
      const r = await runMain(
        ['sim', 'turtlebot-maze', '--speed', '1000', '--goal', 'charging_dock', '--config', testConfig(dir.path)],
        { cwd: dir.path },
      );
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^driving to \(6\.55, 1\.55\)/);
      expect(r.stdout).toMatch(/watch it live: http:\/\/127\.0\.0\.1:\d+\/ \(status page with the map\)/);
      expect(r.stdout).toMatch(
        /reached the goal in [\d.]+ s \(sim time\)\n {2}distance [\d.]+ m, collisions 0, dropped messages 0/,
      );
    } finally {
      dir.cleanup();
    }
  });
});
