import { MessageWriter } from '@foxglove/rosmsg2-serialization';
import { Value } from 'typebox/value';
import { describe, expect, it } from 'vitest';
import { DefinitionsRegistry } from '../../bus/index.ts';
import { CommandConfig, type CommandSettings } from '../../config/sections/system1.ts';
import { compileCommand } from '../action-command.ts';
import { CommandEncoder } from './command-encoder.ts';

const registry = new DefinitionsRegistry();

type Raw = Partial<CommandSettings> & Pick<CommandSettings, 'type'>;

function setup(raw: Raw, dim: number) {
  const settings = Value.Default(CommandConfig, { topic: '/cmd', ...raw }) as CommandSettings;
  const { definitions } = registry.resolve(settings.type);
  return {
    build: compileCommand(settings, dim, 'here'),
    encoder: new CommandEncoder(settings.type, definitions),
    writer: new MessageWriter(definitions),
  };
}

const cases: Raw[] = [
  { type: 'geometry_msgs/msg/Twist', fields: ['linear.x', 'angular.z'] },
  { type: 'std_msgs/msg/Float64MultiArray' },
  { type: 'trajectory_msgs/msg/JointTrajectory', joint_names: ['shoulder', 'coude'], frame_id: 'bâti' },
];

describe('CommandEncoder', () => {
  for (const raw of cases)
    it(`writes each ${raw.type} into the same bytes as MessageWriter writes it whole`, () => {
      const { build, encoder, writer } = setup(raw, 2);
      let first: Uint8Array | undefined;
      for (let k = 0; k < 5; k++) {
        const action = Float32Array.from([0.25 * k - 0.5, -3 * k]);
        const message = build(action, () => 1_700_000_000_123_456_789n + BigInt(k), 0.02 + k);
        const bytes = encoder.encode(message);
        first ??= bytes;
        expect(bytes).toBe(first);
        expect(Array.from(bytes)).toEqual(Array.from(writer.writeMessage(message)));
      }
    });

  it('lays a message of another length out again', () => {
    const { build, encoder, writer } = setup({ type: 'std_msgs/msg/Float64MultiArray' }, 2);
    const one = encoder.encode(build(Float32Array.from([1, 2]), () => 0n, 0.02));
    expect(one.byteLength).toBe(writer.writeMessage(build(Float32Array.from([1, 2]), () => 0n, 0.02)).byteLength);
    const chunk = build(Float32Array.from([1, 2, 3, 4]), () => 0n, 0.02);
    expect(Array.from(encoder.encode(chunk))).toEqual(Array.from(writer.writeMessage(chunk)));
  });
});
