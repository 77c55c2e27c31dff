import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { RobotGraph } from '../bus/index.ts';
import { MeasuredJoints } from './measured-joints.ts';

const JOINT_STATE = 'sensor_msgs/msg/JointState';

let ctx: TestContext | undefined;
afterEach(() => ctx?.bus.close());

describe('the measured joints', () => {
  it('keeps the latest position of each joint by name, from messages that carry some, and ignores NaN', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const measured = new MeasuredJoints({ bus, codec, topic: '/joint_states' });
    const states = bus.advertise('/joint_states', JOINT_STATE, { source: 'ros' });
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

describe('only the robot says where it is', () => {
  it('takes no position from a client door, and counts each such message', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const measured = new MeasuredJoints({ bus, codec, topic: '/states' });
    const robot = bus.advertise('/states', JOINT_STATE, { source: 'ros' });
    const spoof = bus.advertise('/states', JOINT_STATE, { source: 'foxglove:panel' });
    spoof.publish(codec.encode(JOINT_STATE, { name: ['pan'], position: [2.5] }));
    robot.publish(codec.encode(JOINT_STATE, { name: ['pan'], position: [0.1] }));
    spoof.publish(codec.encode(JOINT_STATE, { name: ['pan'], position: [2.5] }));
    await waitFor(() => measured.foreign === 2 && measured.latest('pan') !== undefined, 'the three messages');
    expect(measured.latest('pan')!.position).toBe(0.1);
    measured.close();
  });

  it('knows no position while the graph shows another publisher than the robot, unless the config names it', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const graph = new RobotGraph();
    const endpoint = (node: string, id: string) => ({
      source: 'ros',
      kind: 'publisher' as const,
      node,
      name: '/states',
      type: JOINT_STATE,
      id,
      local: false,
    });
    graph.add(endpoint('/joint_state_broadcaster', '1'));
    const measured = new MeasuredJoints({ bus, codec, topic: '/states', graph });
    bus
      .advertise('/states', JOINT_STATE, { source: 'ros' })
      .publish(codec.encode(JOINT_STATE, { name: ['pan'], position: [0.1] }));
    await waitFor(() => measured.latest('pan') !== undefined, 'the state');
    const out = new Float64Array(1);
    expect(measured.read(['pan'], out, 500)).toBe(1);
    graph.add(endpoint('/spoofer', '2'));
    expect(measured.read(['pan'], out, 500)).toBe(0);
    expect(out[0]).toBeNaN();
    expect(measured.ambiguity()).toMatch(/2 nodes publish \/states \(\/joint_state_broadcaster, \/spoofer\)/);
    const named = new MeasuredJoints({ bus, codec, topic: '/states', graph, publishers: ['/joint_state_broadcaster'] });
    expect(named.ambiguity()).toMatch(/\/spoofer also publishes \/states/);
    graph.remove('ros', '2');
    expect(measured.read(['pan'], out, 500)).toBe(1);
    expect(named.ambiguity()).toBeUndefined();
    measured.close();
    named.close();
  });
});
