import { describe, expect, it } from 'vitest';
import { ConfigError, parseConfigText } from '../../daemon/config/load.ts';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';

/**
 * `sim` refuses seeds its RNG would alias (a seed past 2^31 - 1 repeats a smaller one's run, and the JSON
 * would name the wrong seed) and speeds too slow to be a sim (below 0.01), on the command line and in config.
 */

/** `sim turtlebot-maze ...args`, in a data dir of its own should the arguments ever pass. */
async function sim(...args: string[]) {
  const dir = tempDir('sim-bounds-');
  try {
    return await runMain(['sim', 'turtlebot-maze', '--duration', '1', '--config', testConfig(dir.path), ...args], {
      cwd: dir.path,
    });
  } finally {
    dir.cleanup();
  }
}

const configError = (yaml: string) => {
  try {
    parseConfigText(yaml, 'edge.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.message;
    throw error;
  }
  throw new Error('expected a ConfigError');
};

describe('sim seeds and speed', () => {
  it.each([
    ['--seed', '4294967297'],
    ['--seed', '2147483648'],
    ['--seed', '-1'],
    ['--seed', '1e30'],
    ['--maze-seed', '4294967303'],
    ['--maze-seed', '99999999999999999'],
  ])('%s %s is bad usage: exit 2, naming the range', async (option, value) => {
    const r = await sim(`${option}=${value}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${option}: expected an integer from 0 to 2147483647, got "${value}"`);
  });

  it.each(['0.001', '1e-7', '0'])('--speed %s is bad usage: exit 2, at least 0.01', async (value) => {
    const r = await sim('--speed', value);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--speed: expected a number >= 0.01, got "${value}"`);
  });

  it('bounds sim.seed, sim.maze_seed and sim.speed in config the same way', () => {
    expect(configError('sim:\n  seed: 4294967297\n')).toBe(
      'edge.yaml: sim.seed: expected integer >= 0 <= 2147483647, got 4294967297',
    );
    expect(configError('sim:\n  maze_seed: -1\n')).toBe(
      'edge.yaml: sim.maze_seed: expected integer >= 0 <= 2147483647, got -1',
    );
    expect(configError('sim:\n  speed: 0.0000001\n')).toBe('edge.yaml: sim.speed: expected number >= 0.01, got 1e-7');
    const ok = parseConfigText('sim:\n  seed: 2147483647\n  maze_seed: 0\n  speed: 0.01\n', 'edge.yaml', {});
    expect(ok.sim).toMatchObject({ seed: 2147483647, maze_seed: 0, speed: 0.01 });
  });
});
