import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { ConfigError, defaultConfig, loadConfigFile, parseConfigText } from './load.ts';
import { errorText } from '../util/index.ts';

const errorOf = (text: string, env: NodeJS.ProcessEnv = {}) => {
  try {
    parseConfigText(text, 'edge.yaml', env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return errorText(error);
  }
  throw new Error('expected a ConfigError');
};

describe('config', () => {
  it('the embedded default runs the sim in ./.auraison-edge with no central', () => {
    const config = defaultConfig();
    expect(config.sim.enabled).toBe(true);
    expect(config.data_dir).toBe('./.auraison-edge');
    expect(config.central.enabled).toBe(false);
    expect(config.central.url).toBe('');
  });

  it('an empty file is valid and takes every default', () => {
    expect(parseConfigText('', 'edge.yaml', {}).robot.id).toBe('sim-robot');
    expect(parseConfigText('# only a comment\n', 'edge.yaml', {}).sim.enabled).toBe(false);
  });

  it('names the file, the key path, what was expected and what was found', () => {
    expect(errorOf('sim:\n  speed: "fast"\n')).toBe('edge.yaml: sim.speed: expected number >= 0.01, got "fast"');
    expect(errorOf('log:\n  level: verbose\n')).toBe(
      'edge.yaml: log.level: expected one of "trace", "debug", "info", "warn", "error", "fatal", got "verbose"',
    );
    expect(errorOf('journal:\n  interval_ms: 0\n')).toBe(
      'edge.yaml: journal.interval_ms: expected integer >= 1 <= 60000, got 0',
    );
    expect(errorOf('robot:\n  id: "has space"\n')).toMatch(
      /^edge\.yaml: robot\.id: expected string .*matching .*got "has space"$/,
    );
    expect(errorOf('sim:\n  named_poses:\n    dock: {x: 1}\n')).toBe('edge.yaml: sim.named_poses.dock.y: required');
  });

  it('rejects unknown keys with a did-you-mean, at any depth', () => {
    expect(errorOf('sim:\n  enabld: true\n')).toBe('edge.yaml: sim.enabld: unknown key (did you mean "enabled"?)');
    expect(errorOf('robto:\n  id: r1\n')).toBe('edge.yaml: robto: unknown key (did you mean "robot"?)');
    expect(errorOf('bus:\n  definitions:\n    dir: [/opt]\n')).toMatch(
      /bus\.definitions\.dir: unknown key \(did you mean "dirs"\?\)/,
    );
  });

  it('reports every problem, one line each', () => {
    const message = errorOf('sim:\n  speed: -1\n  seed: 1.5\nlog:\n  level: 3\n');
    expect(message.split('\n')).toHaveLength(3);
  });

  it('interpolates ${ENV} in strings, with defaults, and names the key of an unset variable', () => {
    expect(parseConfigText('robot:\n  id: ${ROBOT}\n', 'edge.yaml', { ROBOT: 'tb3-01' }).robot.id).toBe('tb3-01');
    expect(parseConfigText('robot:\n  id: ${ROBOT:-tb3-02}\n', 'edge.yaml', {}).robot.id).toBe('tb3-02');
    expect(parseConfigText('data_dir: /var/lib/$${X}\n', 'edge.yaml', {}).data_dir).toBe('/var/lib/${X}');
    expect(errorOf('robot:\n  id: ${ROBOT}\n')).toBe(
      'edge.yaml: robot.id: environment variable ROBOT is not set (use ${ROBOT:-default} for a default)',
    );
    // A secret can never inject YAML structure: it is substituted after parsing.
    const injected = parseConfigText('data_dir: ${DIR}\n', 'edge.yaml', { DIR: 'x\nsim: {enabled: true}' });
    expect(injected.sim.enabled).toBe(false);
    expect(injected.data_dir).toBe('x\nsim: {enabled: true}');
  });

  it('reports YAML syntax errors with the line', () => {
    expect(errorOf('sim: [\n')).toMatch(/^edge\.yaml: line \d+, column \d+: /);
    expect(errorOf('- a\n- b\n')).toBe('edge.yaml: expected a mapping of sections (robot, sim, ...), got a list');
    expect(errorOf('sim:\n  seed: 1\nsim:\n  seed: 2\n')).toMatch(/Map keys must be unique/);
  });

  it("gives a YAML syntax error its position once, without the yaml library's own suffix and code frame", () => {
    expect(errorOf('sim:\n  seed: 1\nsim:\n  seed: 2\n')).toBe('edge.yaml: line 3, column 1: Map keys must be unique');
    expect(errorOf('robot:\n  id: r1\nsim: [\n')).toBe(
      'edge.yaml: line 4, column 1: Flow sequence in block collection must be sufficiently indented and end with a ]',
    );
  });

  it('reports an unset ${ENV} together with every other problem, in the order of the file', () => {
    // The README's example: without ROBOT_ID, the other two problems are reported in the same run.
    expect(errorOf('robot:\n  id: ${ROBOT_ID}\nsim:\n  speed: fast\n  enabld: true\n').split('\n')).toEqual([
      'edge.yaml: robot.id: environment variable ROBOT_ID is not set (use ${ROBOT_ID:-default} for a default)',
      'edge.yaml: sim.speed: expected number >= 0.01, got "fast"',
      'edge.yaml: sim.enabld: unknown key (did you mean "enabled"?)',
    ]);
    // By position in the file, not by the schema's order of sections (robot comes before sim there).
    expect(
      errorOf('sim:\n  speed: -1\nrobot:\n  id: "a b"\n')
        .split('\n')
        .map((l) => l.split(':')[1]),
    ).toEqual([' sim.speed', ' robot.id']);
    // The cross-checks run too: the placeholder of an unset variable is a string like any other.
    expect(errorOf('robot: {id: "${ROBOT_ID}"}\napi: {port: 9000}\nfoxglove: {port: 9000}\n').split('\n')).toEqual([
      'edge.yaml: robot.id: environment variable ROBOT_ID is not set (use ${ROBOT_ID:-default} for a default)',
      'edge.yaml: foxglove.port: 9000 is also api.port: the HTTP API and the Foxglove bridge each need their own port',
    ]);
  });

  it('ignores top-level x- extension fields, so a block of shared settings can hold an anchor', () => {
    const config = parseConfigText(
      'x-loopback: &lo {host: 127.0.0.1}\napi: *lo\nfoxglove: *lo\nx-unused: {port: "${UNSET}"}\n',
      'edge.yaml',
      {},
    );
    expect([config.api.host, config.foxglove.host]).toEqual(['127.0.0.1', '127.0.0.1']);
    // one alias, two sections with their own defaults
    expect([config.api.port, config.foxglove.port]).toEqual([7400, 8765]);
    expect(Object.keys(config).filter((k) => k.startsWith('x'))).toEqual([]);
    // What an x- block holds is checked where it is aliased.
    expect(errorOf('x-sim: &s {sped: 2}\nsim: *s\n')).toBe('edge.yaml: sim.sped: unknown key (did you mean "speed"?)');
    // Other unknown sections stay errors, and say how to name a block of shared settings.
    expect(errorOf('common: &c {enabled: true}\nsim: *c\n')).toMatch(
      /^edge\.yaml: common: unknown key \(known keys: robot, .*\); a block kept only for YAML anchors must be named x-<something>$/,
    );
  });

  it('takes YAML merge keys: an anchored block of shared settings, with the keys written beside it winning', () => {
    const config = parseConfigText(
      'x-lo: &lo {host: 127.0.0.1, port: 9000}\napi:\n  <<: *lo\n  port: 9100\nfoxglove:\n  <<: [{port: 9200}, *lo]\n',
      'edge.yaml',
      {},
    );
    expect([config.api.host, config.api.port]).toEqual(['127.0.0.1', 9100]);
    // in a list, the first to have a key wins
    expect([config.foxglove.host, config.foxglove.port]).toEqual(['127.0.0.1', 9200]);
    // What a merge brings in is checked where it lands, as an alias is.
    expect(errorOf('x-lo: &lo {host: 127.0.0.1, prot: 9000}\napi:\n  <<: *lo\n')).toBe(
      'edge.yaml: api.prot: unknown key (did you mean "port"?)',
    );
    expect(errorOf('x-lo: &lo [1, 2]\napi:\n  <<: *lo\n')).toBe(
      'edge.yaml: a merge key (<<) must take a mapping, an alias of one (<<: *base) or a list of them (<<: [*a, *b])',
    );
    expect(errorOf('api:\n  <<: 5\n')).toMatch(/^edge\.yaml: a merge key \(<<\) must take a mapping/);
  });

  it('reports the first YAML syntax error, not the dozen the parser stumbles into after it, and every repeated key', () => {
    expect(errorOf('robot: {id: ${ROBOT_ID}}\nsim: {speed: fast, enabld: true}\n')).toBe(
      'edge.yaml: line 1, column 14: Unexpected flow-map-start at node end (inside {...}, quote a value that starts with ${: "${VAR}"); 13 more YAML errors after it, most likely caused by it',
    );
    expect(errorOf('sim:\n  seed: 1\nsim:\n  seed: 2\napi: {}\napi: {}\n').split('\n')).toEqual([
      'edge.yaml: line 3, column 1: Map keys must be unique',
      'edge.yaml: line 6, column 1: Map keys must be unique',
    ]);
  });

  it('reads a file and names it in errors', () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'robot.yaml');
      writeFileSync(file, 'sim:\n  seed: 42\n');
      expect(loadConfigFile(file).config.sim.seed).toBe(42);
      expect(() => loadConfigFile(join(dir.path, 'missing.yaml'))).toThrow(/^missing\.yaml: no such file/);
    } finally {
      dir.cleanup();
    }
  });

  it("finds a policy's model and stats files beside the config file, whatever the working directory", () => {
    const dir = tempDir();
    try {
      const file = join(dir.path, 'robot.yaml');
      writeFileSync(
        file,
        [
          'policies:',
          '  act:',
          '    model: models/act.onnx',
          '    inputs: {state: {sources: [{topic: /joints, field: position}], normalize: {stats: meta/stats.json}}}',
          '    outputs: {action: {unnormalize: {stats: /data/stats.json}}}',
          '',
        ].join('\n'),
      );
      const { act } = loadConfigFile(file).config.policies;
      expect(act!.model).toBe(join(dir.path, 'models', 'act.onnx'));
      expect(act!.inputs.state!.normalize!.stats).toBe(join(dir.path, 'meta', 'stats.json'));
      expect(act!.outputs.action!.unnormalize!.stats).toBe('/data/stats.json'); // absolute: as written
    } finally {
      dir.cleanup();
    }
  });

  it('refuses a YAML alias bomb by file name, as a config error (exit 2), without expanding it', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 9; i++)
      levels.push(
        `${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9)
          .fill(`*${'abcdefghi'[i - 1]}`)
          .join(', ')}]`,
      );
    expect(errorOf(`${levels.join('\n')}\n`)).toBe(
      'edge.yaml: too many YAML alias expansions (the limit is 100): write the values out',
    );
    // A few aliases, as people use them for shared settings, stay fine (the result is then validated as usual).
    expect(errorOf('x: &limits {enabled: true}\nsim: *limits\n')).toMatch(/^edge\.yaml: x: unknown key/);
  });

  it('refuses the HTTP API and the Foxglove bridge on one port', () => {
    expect(errorOf('api: {port: 9000}\nfoxglove: {port: 9000}\n')).toBe(
      'edge.yaml: foxglove.port: 9000 is also api.port: the HTTP API and the Foxglove bridge each need their own port',
    );
    expect(parseConfigText('api: {port: 0}\nfoxglove: {port: 0}\n', 'edge.yaml', {}).api.port).toBe(0);
    expect(
      parseConfigText('api: {port: 9000, enabled: false}\nfoxglove: {port: 9000}\n', 'edge.yaml', {}).foxglove.port,
    ).toBe(9000);
  });
});

describe('config: values from ${ENV} in messages', () => {
  it('a check across keys quotes a value from ${ENV} as written, not what the environment gave', () => {
    const policy = (topic: string) => ({
      model: 'm.onnx',
      serve: false,
      inputs: { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
      outputs: { actions: { command: { topic, type: 'geometry_msgs/msg/Twist' } } },
    });
    const text = JSON.stringify({
      policies: { p: policy('${CMD_TOPIC}'), q: policy('${CMD_TOPIC}') },
      control: { loops: { a: { policy: 'p' }, b: { policy: 'q' } } },
    });
    const message = errorOf(text, { CMD_TOPIC: '/secret_cmd_vel' });
    expect(message).toBe(
      'edge.yaml: control.loops.b: commands ${CMD_TOPIC}, as loop a does: two loops would interleave their commands; give each its own topic',
    );
  });
});
