import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { MeasuredJoints } from './joint-limits-measured.ts';

const JOINT_STATE = 'sensor_msgs/msg/JointState';

let ctx: TestContext | undefined;
afterEach(() => ctx?.bus.close());

describe('the measured joints', () => {
  it('keeps the latest position of each joint by name, from messages that carry some, and ignores NaN', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const measured = new MeasuredJoints({ bus, codec, topic: '/joint_states' });
    const states = bus.advertise('/joint_states', JOINT_STATE, { source: 'test' });
    states.publish(codec.encode(JOINT_STATE, { name: ['pan', 'lift'], position: [0.5, -0.5] }));
    states.publish(codec.encode(JOINT_STATE, { name: ['gripper', 'lift'], position: [0.1, NaN] }));
    states.publish(codec.encode(JOINT_STATE, { name: ['pan'], position: [] }));
    await waitFor(() => measured.latest('gripper') !== undefined && measured.rejected === 1, 'the states');
    const out = new Float64Array(3);
    expect(measured.read(['pan', 'lift', 'wrist'], out, 500)).toBe(2);
    expect([...out]).toEqual([0.5, -0.5, NaN]);
    // Older than the age asked: none.
    expect(measured.read(['pan', 'lift', 'wrist'], out, 500, measured.latest('pan')!.receivedNs + 600_000_000n)).toBe(
      0,
    );
    measured.close();
  });
});
