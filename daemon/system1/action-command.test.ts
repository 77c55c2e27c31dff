import { describe, expect, it } from 'vitest';
import { Value } from 'typebox/value';
import { CommandConfig, type CommandSettings } from '../config/sections/system1.ts';
import { CommandError, compileCommand } from './action-command.ts';

const settings = (raw: Partial<CommandSettings>) =>
  Value.Default(CommandConfig, { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray', ...raw }) as CommandSettings;

describe('compileCommand', () => {
  it('refuses to build a command from a non-finite action, which a clip would let through', () => {
    const build = compileCommand(settings({ clip: [-1, 1] }), 2, 'here');
    expect(build(Float32Array.from([0.5, 2]), () => 0n, 0.02)).toMatchObject({ data: Float64Array.from([0.5, 1]) });
    expect(() => build(Float32Array.from([Number.NaN, 0]), () => 0n, 0.02)).toThrow(CommandError);
    expect(() => build(Float32Array.from([0, Number.NEGATIVE_INFINITY]), () => 0n, 0.02)).toThrow(
      /element 1 of the action is -Infinity/,
    );
  });

  it('refuses a non-finite scale or offset', () => {
    expect(() => compileCommand(settings({ scale: Number.POSITIVE_INFINITY }), 2, 'here')).toThrow(
      /scale and offset must be finite/,
    );
    expect(() => compileCommand(settings({ offset: [0, Number.NaN] }), 2, 'here')).toThrow(
      /scale and offset must be finite/,
    );
  });
});
