import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadCommands, main } from '../../daemon/cli/main.ts';
import { runCli, runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('cli-');
afterAll(() => work.cleanup());
const cwd = work.path;

describe('auraison-edge CLI', () => {
  it('prints --help for every command and exits 0', async () => {
    const commands = await loadCommands();
    expect([...commands.keys()]).toEqual(expect.arrayContaining(['run', 'sim', 'status']));
    // Every command through the CLI's main(); the binary as a real process is the sim-logs test's below.
    for (const name of commands.keys()) {
      let stdout = '';
      const code = await main([name, '--help'], { stdout: (t) => (stdout += t), stderr: () => {}, env: {}, cwd });
      expect(code, name).toBe(0);
      expect(stdout, name).toMatch(new RegExp(`^Usage: auraison-edge ${name}`));
    }
    const sim = await runMain(['sim', 'turtlebot-maze', '--help'], { cwd });
    expect(sim.code).toBe(0);
    expect(sim.stdout).toMatch(/^Usage: auraison-edge sim turtlebot-maze/);
    const top = await runMain(['--help'], { cwd });
    expect(top.code).toBe(0);
    for (const name of commands.keys()) expect(top.stdout).toContain(`  ${name}`);
  });

  it('exits 2 with what is wrong on bad usage', async () => {
    const none = await runMain([], { cwd });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: auraison-edge <command>/);
    const typo = await runMain(['stauts'], { cwd });
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown command "stauts" (did you mean "status"?)');
    const badOption = await runMain(['sim', 'turtlebot-maze', '--sped', '3'], { cwd });
    expect(badOption.code).toBe(2);
    expect(badOption.stderr).toMatch(/Unknown option '--sped'/);
    expect(badOption.stderr).toContain('Usage: auraison-edge sim turtlebot-maze');
    const badValue = await runMain(['sim', 'turtlebot-maze', '--speed', 'fast'], { cwd });
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('--speed: expected a number >= 0.01, got "fast"');
    const badWorld = await runMain(['sim', 'mars'], { cwd });
    expect(badWorld.code).toBe(2);
    expect(badWorld.stderr).toContain('unknown world "mars"');
    // A command with subcommands shows the usage of the one that was used, not its first.
    let stderr = '';
    expect(
      await main(['lerobot', 'export', join(cwd, 'out'), '--fps', '0'], {
        stdout: () => {},
        stderr: (t) => (stderr += t),
        env: {},
        cwd,
      }),
    ).toBe(2);
    expect(stderr).toContain('\nUsage: auraison-edge lerobot export OUT ');
  });

  it('reports the range of a numeric option given a negative number, not parseArgs\' "ambiguous" text', async () => {
    for (const [args, text] of [
      [['sim', 'turtlebot-maze', '--seed', '-1'], '--seed: expected an integer from 0 to 2147483647, got "-1"'],
      [['sim', 'turtlebot-maze', '--speed', '-0.5'], '--speed: expected a number >= 0.01, got "-0.5"'],
      [['runs', '--limit', '-3'], '--limit: expected an integer >= 1, got "-3"'],
    ] as const) {
      const r = await runMain([...args], { cwd, env: {} });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain(text);
      expect(r.stderr, args.join(' ')).not.toContain('ambiguous');
    }
    // A value that is not a number still reads as a missing value: `--goal -x` is most likely a typo.
    const flag = await runMain(['sim', 'turtlebot-maze', '--goal', '--seed', '1'], { cwd, env: {} });
    expect(flag.code).toBe(2);
  });

  it("sim logs at warn unless --log-level asks, whatever the config's log.level: the summary is not buried in JSON lines", async () => {
    const config = join(cwd, 'sim-info.yaml');
    writeFileSync(config, 'log:\n  level: info\napi:\n  port: 0\nfoxglove:\n  port: 0\n');
    const args = ['sim', 'turtlebot-maze', '--speed', '1000', '--goal', 'charging_dock', '--config', config];
    const quiet = await runCli([...args, '--json'], { cwd });
    expect(quiet.code).toBe(0);
    expect(JSON.parse(quiet.stdout)).toMatchObject({ reached: true });
    expect(quiet.stderr).not.toContain('"level":30');
    const loud = await runCli([...args, '--json', '--log-level', 'info'], { cwd });
    expect(loud.code).toBe(0);
    expect(JSON.parse(loud.stdout)).toMatchObject({ reached: true }); // the logs stay on stderr
    expect(loud.stderr).toContain('"level":30');
    const bad = await runMain(['sim', 'turtlebot-maze', '--log-level', 'loud'], { cwd, env: {} });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--log-level: expected one of trace, debug, info, warn, error, fatal, got "loud"');
  });

  it('refuses an invalid config with exit 2, naming the file and key path', async () => {
    const file = join(cwd, 'edge.yaml');
    writeFileSync(file, 'sim:\n  enabld: true\n  speed: "fast"\n');
    const r = await runMain(['run', '--config', file], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('edge.yaml: sim.enabld: unknown key (did you mean "enabled"?)');
    expect(r.stderr).toContain('edge.yaml: sim.speed: expected number >= 0.01, got "fast"');
  });

  it('status says not running when no daemon has used the data dir', async () => {
    const r = await runMain(['status', '--json'], { cwd });
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({ running: false });
  });
});
