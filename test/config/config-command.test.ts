import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runCli, runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('config-cmd-');
afterAll(() => work.cleanup());
const cwd = work.path;
const write = (name: string, text: string): string => {
  writeFileSync(join(cwd, name), text);
  return name;
};
// runMain adds process.env: an undefined value keeps a variable unset whatever the test runner's env holds.
const noRobotId = { ROBOT_ID: undefined, AURAISON_EDGE_CONFIG: undefined };

describe('auraison-edge config', () => {
  it('check prints every problem of a file, one per line in file order, and exits 2 (README example)', async () => {
    const file = write('edge.yaml', 'robot:\n  id: ${ROBOT_ID}\nsim:\n  speed: fast\n  enabld: true\n');
    const r = await runCli(['config', 'check', '--config', file], { cwd, env: noRobotId });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(
      [
        'edge.yaml: robot.id: environment variable ROBOT_ID is not set (use ${ROBOT_ID:-default} for a default)',
        'edge.yaml: sim.speed: expected number >= 0.01, got "fast"',
        'edge.yaml: sim.enabld: unknown key (did you mean "enabled"?)',
        '',
      ].join('\n'),
    );
    const json = await runMain(['config', 'check', '--config', file, '--json'], { cwd, env: noRobotId });
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({
      file: join(cwd, 'edge.yaml'),
      valid: false,
      problems: [
        { path: 'robot.id', message: expect.stringContaining('ROBOT_ID is not set'), line: 2, column: 3 },
        { path: 'sim.speed', message: 'expected number >= 0.01, got "fast"', line: 4, column: 3 },
        { path: 'sim.enabld', message: 'unknown key (did you mean "enabled"?)', line: 5, column: 3 },
      ],
      warnings: [],
    });
  });

  it('check runs the checks across keys that run does, without starting anything', async () => {
    const clash = write('clash.yaml', 'api: {port: 9000}\nfoxglove: {port: 9000}\n');
    const r = await runMain(['config', 'check', '--config', clash], { cwd, env: noRobotId });
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(
      'clash.yaml: foxglove.port: 9000 is also api.port: the HTTP API and the Foxglove bridge each need their own port\n',
    );
    const clip = write(
      'clip.yaml',
      'policies:\n  p:\n    model: m.onnx\n    outputs:\n      action:\n        command: {topic: /cmd_vel, type: geometry_msgs/msg/Twist, clip: [1, -1]}\n',
    );
    const c = await runMain(['config', 'check', '--config', clip], { cwd, env: noRobotId });
    expect(c.code).toBe(2);
    expect(c.stdout).toMatch(
      /^clip\.yaml: policies\.p\.outputs\.action\.command\.clip: \[low, high\]: low 1 is greater than high -1\n$/,
    );
  });

  it('check exits 0 on a valid file, on $AURAISON_EDGE_CONFIG, and on the embedded default', async () => {
    const ok = write('ok.yaml', 'x-shared: &s {enabled: true}\nsim: *s\n');
    expect(await runMain(['config', 'check', '--config', ok], { cwd, env: noRobotId })).toMatchObject({
      code: 0,
      stdout: 'ok.yaml: valid\n',
    });
    expect(await runMain(['config', 'check'], { cwd, env: { ...noRobotId, AURAISON_EDGE_CONFIG: ok } })).toMatchObject({
      code: 0,
      stdout: 'ok.yaml: valid\n',
    });
    expect(await runMain(['config', 'check', '--json'], { cwd, env: noRobotId })).toMatchObject({
      code: 0,
      stdout: '{"file":null,"valid":true,"problems":[],"warnings":[]}\n',
    });
    const missing = await runMain(['config', 'check', '--config', 'missing.yaml'], { cwd, env: noRobotId });
    expect(missing.code).toBe(2);
    expect(missing.stdout).toBe(`missing.yaml: no such file (${join(cwd, 'missing.yaml')})\n`);
  });

  it('show prints the config in effect with defaults, and values from ${ENV} as written, never the secret', async () => {
    const file = write('secret.yaml', 'robot:\n  id: ${ROBOT_ID}\napi:\n  token: "${API_TOKEN}"\n');
    const r = await runMain(['config', 'show', '--config', file], {
      cwd,
      env: { ROBOT_ID: 'tb3-01', API_TOKEN: 'hunter2-secret' },
    });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2-secret');
    expect(r.stdout).not.toContain('tb3-01');
    const shown = parse(r.stdout) as {
      robot: { id: string; fleet: string };
      api: { token: string; port: number };
      sim: { speed: number };
    };
    expect(shown.robot).toEqual({ id: '${ROBOT_ID}', fleet: 'default' });
    expect(shown.api.token).toBe('${API_TOKEN}');
    expect([shown.api.port, shown.sim.speed]).toEqual([7400, 1]);
    const json = await runMain(['config', 'show', '--config', file, '--json'], {
      cwd,
      env: { ROBOT_ID: 'tb3-01', API_TOKEN: 'hunter2-secret' },
    });
    expect((JSON.parse(json.stdout) as { api: { token: string } }).api.token).toBe('${API_TOKEN}');
    // An invalid config is refused as everywhere else.
    const bad = await runMain(['config', 'show', '--config', file], { cwd, env: { ...noRobotId, API_TOKEN: 't' } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('secret.yaml: robot.id: environment variable ROBOT_ID is not set');
  });

  it('quotes a bad value from ${ENV} as written in check, check --json, show and run, never the secret', async () => {
    const file = write('bad-secret.yaml', 'sim:\n  speed: "${TOK}"\n');
    const env = { TOK: 'SECRET-TOKEN-123', AURAISON_EDGE_CONFIG: undefined };
    const problem = 'bad-secret.yaml: sim.speed: expected number >= 0.01, got "${TOK}"';
    const check = await runMain(['config', 'check', '--config', file], { cwd, env });
    expect([check.code, check.stdout]).toEqual([2, `${problem}\n`]);
    const json = await runMain(['config', 'check', '--config', file, '--json'], { cwd, env });
    expect((JSON.parse(json.stdout) as { problems: { message: string }[] }).problems.map((p) => p.message)).toEqual([
      'expected number >= 0.01, got "${TOK}"',
    ]);
    for (const command of [['config', 'show'], ['run']]) {
      const r = await runMain([...command, '--config', join(cwd, file)], { cwd, env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(problem);
      expect(r.stdout + r.stderr).not.toContain('SECRET-TOKEN-123');
    }
  });

  it('show hides a secret written in the file (a ${ENV} reference shows as written, see above), and shows an empty one as it is', async () => {
    const file = write('literal-secret.yaml', 'api:\n  token: hunter2-literal\n');
    const r = await runMain(['config', 'show', '--config', file, '--json'], { cwd, env: noRobotId });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2-literal');
    const shown = JSON.parse(r.stdout) as { api: { token: string } };
    expect(shown.api.token).toBe('<hidden>');
    const empty = await runMain(['config', 'show', '--config', write('no-token.yaml', 'api:\n  token: ""\n')], {
      cwd,
      env: noRobotId,
    });
    expect((parse(empty.stdout) as { api: { token: string } }).api.token).toBe('');
  });

  it('refuses an unknown subcommand with exit 2', async () => {
    const r = await runMain(['config', 'lint'], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown subcommand "lint": expected check or show');
  });
});
