import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { componentContext, type TestContext } from '../../test/helpers/component-context.ts';
import { waitFor } from '../../test/helpers/wait.ts';
import { JointLimitsSource, jointStartIssues, loadUrdfLimits } from './limits-source.ts';
import type { JointsSettings } from './limits-source.ts';
import type { JointLimits } from './joint-frame.ts';

const URDF = `<robot name="arm">
  <joint name="pan" type="revolute"><limit lower="-1.5" upper="1.5" velocity="2"/></joint>
  <joint name="lift" type="revolute"><limit lower="-1" upper="1" velocity="1"/></joint>
</robot>`;
const STRING = 'std_msgs/msg/String';

const joints = (over: Partial<JointsSettings>): JointsSettings => ({
  state_topic: '/joint_states',
  state_publishers: [],
  clients_may_publish: false,
  max_state_age_ms: 500,
  mode: 'clamp',
  max_step: 0.2,
  limits: {},
  topics: {},
  trajectory_topics: {},
  gripper_joint: 'gripper',
  ...over,
});

let ctx: TestContext | undefined;
afterEach(() => ctx?.bus.close());

/** A log that keeps its lines, to read what was said. */
function keptLog() {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
  return { log, lines };
}

describe('joint limits from a URDF file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'joint-limits-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };

  it('reads the limits, and names motion.joints.urdf and the file in what it refuses', () => {
    expect([...loadUrdfLimits(file('arm.urdf', URDF)).keys()]).toEqual(['pan', 'lift']);
    const bad = file('bad.urdf', '<robot><joint name="pan" type="revolute"/></robot>');
    expect(jointStartIssues(joints({ urdf: bad }))).toEqual([
      {
        path: 'motion.joints.urdf',
        message: `${bad}: joint "pan" is revolute with no <limit>: add <limit lower=".." upper=".." velocity=".."/> to it`,
      },
    ]);
    expect(jointStartIssues(joints({ urdf: join(dir, 'none.urdf') }))[0]!.message).toMatch(
      /none\.urdf: no such file: give the path of the robot's URDF$/,
    );
    expect(jointStartIssues(joints({ urdf: file('ok.urdf', URDF), limits: { pan: { upper: 2 } } }))).toEqual([
      {
        path: 'motion.joints.limits.pan.upper',
        message: expect.stringMatching(/^2 is outside the description's 1\.5: an override narrows/),
      },
    ]);
    expect(jointStartIssues(joints({ robot_description: '/robot_description' }))).toEqual([]);
  });
});

describe('joint limits from robot_description', () => {
  it('refuses until a description comes, takes a good one, and keeps it over a bad one', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const { log, lines } = keptLog();
    const settings = joints({ robot_description: '/robot_description' });
    const source = new JointLimitsSource({ settings, bus, codec, log });
    expect(source.current()).toBe(
      'no robot_description yet on /robot_description (motion.joints.robot_description): joint limits come from it',
    );
    const publisher = bus.advertise('/robot_description', STRING, {
      source: 'ros',
      qos: { durability: 'transient_local' },
    });
    publisher.publish(codec.encode(STRING, { data: URDF }));
    await waitFor(() => typeof source.current() !== 'string', 'the limits');
    const good = source.current();
    publisher.publish(codec.encode(STRING, { data: '<robot>' }));
    await waitFor(() => lines.some((l) => l.level === 50), 'the refusal logged');
    expect(source.current()).toBe(good);
    expect(lines.at(-1)!.msg).toMatch(
      /^robot_description refused \(the limits of the last good description stay\): robot_description on \/robot_description: not well-formed XML/,
    );
    source.close();
  });

  it('reads the description a robot_state_publisher latched before it subscribed', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    bus
      .advertise('/robot_description', STRING, { source: 'ros', qos: { durability: 'transient_local' } })
      .publish(codec.encode(STRING, { data: URDF }));
    const settings = joints({ robot_description: '/robot_description' });
    const source = new JointLimitsSource({ settings, bus, codec, log: keptLog().log });
    await waitFor(() => typeof source.current() !== 'string', 'the latched description');
    source.close();
  });
});

describe('a description at run time', () => {
  const WIDE = URDF.replace('lower="-1.5" upper="1.5" velocity="2"', 'lower="-50" upper="50" velocity="1000000"');
  const NARROW = URDF.replace('lower="-1.5" upper="1.5" velocity="2"', 'lower="-1" upper="0.5" velocity="1"');

  it('narrows the limits and never widens them; one from a client door is no description', async () => {
    ctx = componentContext();
    const { bus, codec } = ctx;
    const source = new JointLimitsSource({
      settings: joints({ robot_description: '/description' }),
      bus,
      codec,
      log: keptLog().log,
    });
    const robot = bus.advertise('/description', STRING, { source: 'ros' });
    const intent = bus.advertise('/description', STRING, { source: 'agent' });
    robot.publish(codec.encode(STRING, { data: URDF }));
    await waitFor(() => source.descriptions === 1, 'the first description');
    intent.publish(codec.encode(STRING, { data: WIDE }));
    await waitFor(() => source.foreign === 1, "the intent's");
    robot.publish(codec.encode(STRING, { data: WIDE }));
    await waitFor(() => source.descriptions === 2, "the robot's wide one");
    const pan = () => (source.current() as JointLimits).get('pan')!;
    expect(pan()).toMatchObject({ lower: -1.5, upper: 1.5, velocity: 2 });
    robot.publish(codec.encode(STRING, { data: NARROW }));
    await waitFor(() => source.descriptions === 3, 'the narrow one');
    expect(pan()).toMatchObject({ lower: -1, upper: 0.5, velocity: 1 });
    robot.publish(codec.encode(STRING, { data: URDF }));
    await waitFor(() => source.descriptions === 4, 'the first again');
    expect(pan()).toMatchObject({ lower: -1, upper: 0.5, velocity: 1 });
    source.close();
  });
});
