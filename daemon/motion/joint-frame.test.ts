import { describe, expect, it } from 'vitest';
import { JointFrame, JointLimitsError, overrideProblems, type JointFrameSettings } from './joint-frame.ts';
import { parseUrdfLimits } from './urdf-limits.ts';

const ARM = ['shoulder_pan', 'shoulder_lift', 'elbow_flex', 'wrist_flex', 'wrist_roll', 'gripper'];

/** A six-joint desk arm as an exporter writes it: comments, CDATA, both quote styles, a transmission. */
const SO101 = `<?xml version="1.0" encoding="utf-8"?>
<!-- exported by hand; <joint name="ghost" type="revolute"/> in a comment is no joint -->
<robot name='so101'>
  <link name="base"/>
  <link name="l1"/><link name="l2"/><link name="l3"/><link name="l4"/><link name="l5"/><link name="l6"/>
  <joint name="shoulder_pan" type="revolute">
    <parent link="base"/><child link="l1"/><axis xyz="0 0 1"/>
    <limit lower="-1.92" upper='1.92' effort="10" velocity="6.0"/>
  </joint>
  <joint name="shoulder_lift" type="revolute">
    <parent link="l1"/><child link="l2"/>
    <limit lower="-1.75" upper="1.75" effort="10" velocity="6.0"></limit>
  </joint>
  <joint name="elbow_flex" type="revolute"><parent link="l2"/><child link="l3"/>
    <limit lower="-1.69" upper="1.69" effort="10" velocity="6.0"/></joint>
  <joint name="wrist_flex" type="revolute"><parent link="l3"/><child link="l4"/>
    <limit lower="-1.66" upper="1.66" effort="10" velocity="6.0"/></joint>
  <joint name="wrist_roll" type="revolute"><parent link="l4"/><child link="l5"/>
    <limit lower="-2.74" upper="2.84" effort="10" velocity="6.0"/></joint>
  <joint name="gripper" type="revolute"><parent link="l5"/><child link="l6"/>
    <limit lower="-0.17" upper="1.75" effort="10" velocity="6.0"/></joint>
  <gazebo><![CDATA[ <joint name="in_cdata" type="revolute"/> ]]></gazebo>
  <transmission name="t1"><joint name="shoulder_pan"><hardwareInterface>position</hardwareInterface></joint></transmission>
</robot>
`;

const withJoints = (joints: string) => `<robot name="r"><link name="a"/>${joints}</robot>`;
const settings = (over: Partial<JointFrameSettings> = {}): JointFrameSettings => ({
  mode: 'clamp',
  max_step: Infinity,
  ...over,
});
const problemsOf = (xml: string): string => {
  try {
    parseUrdfLimits(xml, 'arm.urdf');
  } catch (error) {
    expect(error).toBeInstanceOf(JointLimitsError);
    return (error as JointLimitsError).message;
  }
  throw new Error('parsed');
};

describe("a URDF's joint limits", () => {
  it("reads each joint's limit, and no joint in a comment, CDATA or a transmission", () => {
    const limits = parseUrdfLimits(SO101, 'so101.urdf');
    expect([...limits.keys()]).toEqual(ARM);
    expect(limits.get('shoulder_pan')).toEqual({ lower: -1.92, upper: 1.92, velocity: 6, effort: 10 });
    expect(limits.get('wrist_roll')).toEqual({ lower: -2.74, upper: 2.84, velocity: 6, effort: 10 });
  });

  it('gives a continuous joint no position limits, and marks fixed and mimic joints not commandable', () => {
    const limits = parseUrdfLimits(
      withJoints(`
      <joint name="wheel" type="continuous"><limit effort="1" velocity="3"/></joint>
      <joint name="spin" type="continuous"/>
      <joint name="mount" type="fixed"/>
      <joint name="finger" type="prismatic"><limit lower="0" upper="0.04" velocity="0"/></joint>
      <joint name="finger_mirror" type="prismatic"><limit lower="0" upper="0.04"/><mimic joint="finger"/></joint>`),
      'gripper.urdf',
    );
    expect(limits.get('wheel')).toEqual({ lower: -Infinity, upper: Infinity, velocity: 3, effort: 1 });
    expect(limits.get('spin')).toEqual({ lower: -Infinity, upper: Infinity, velocity: Infinity, effort: Infinity });
    expect(limits.get('mount')?.uncommandable).toBe('a fixed joint');
    expect(limits.get('finger')).toEqual({ lower: 0, upper: 0.04, velocity: Infinity, effort: Infinity });
    expect(limits.get('finger_mirror')?.uncommandable).toBe('it mimics "finger"');
  });

  it('decodes entities in names, skips a DOCTYPE, and reads a 1 MB description', () => {
    expect([...parseUrdfLimits(withJoints(`<joint name="a&amp;b&#x21;" type="continuous"/>`), 'x').keys()]).toEqual([
      'a&b!',
    ]);
    const doctype = `<!DOCTYPE robot [ <!ENTITY x "<joint name='y' type='fixed'/>"> ]>\n${withJoints('<joint name="j" type="continuous" />')}`;
    expect([...parseUrdfLimits(doctype, 'x').keys()]).toEqual(['j']);
    const links = '<link name="l"><visual><geometry><box size="1 1 1"/></geometry></visual></link>\n';
    const big = SO101.replace('<link name="base"/>', links.repeat(Math.ceil(2 ** 20 / links.length)));
    expect(big.length).toBeGreaterThan(2 ** 20);
    expect(parseUrdfLimits(big, 'big.urdf').size).toBe(6);
  });

  it('refuses what is no URDF, saying what and where', () => {
    expect(problemsOf('<robot><joint name="a" type="revolute"></robot>')).toMatch(
      /^arm\.urdf: not well-formed XML \(<\/robot> where <\/joint> was expected at line 1\)/,
    );
    expect(problemsOf('<robot name="r">\n<link name="a"/>\n')).toMatch(/<robot> is not closed at line 3/);
    expect(problemsOf('<sdf version="1.9"><model/></sdf>')).toMatch(/root element is <sdf>, not <robot>/);
    expect(problemsOf('<robot name="r"><link name="a"/></robot>')).toMatch(/no <joint> in <robot>.*xacro/);
    expect(problemsOf('<robot a="1" a="2"/>')).toMatch(/attribute a twice/);
    expect(problemsOf('<robot a=1/>')).toMatch(/malformed attribute in <robot>/);
    expect(problemsOf('<robot/><robot/>')).toMatch(/a second root element/);
    expect(problemsOf('<robot name="a & b"/>')).toMatch(/bare '&'/);
    expect(problemsOf('<robot><!-- open')).toMatch(/a comment that is not closed/);
    expect(problemsOf('x'.repeat(16 * 2 ** 20 + 1))).toMatch(/may be at most 16 M/);
  });

  it('refuses a revolute joint without limits, listing every such joint', () => {
    const message = problemsOf(
      withJoints(`
      <joint name="a" type="revolute"/>
      <joint name="b" type="prismatic"><limit upper="1" velocity="1"/></joint>
      <joint name="c" type="revolute"><limit lower="x" upper="1"/></joint>
      <joint name="d" type="revolute"><limit lower="1" upper="-1"/></joint>
      <joint name="e" type="ball"/>`),
    );
    expect(message).toContain('joint "a" is revolute with no <limit>: add <limit');
    expect(message).toContain('joint "b" is prismatic and its <limit> lacks lower: add it');
    expect(message).toContain('joint "c": <limit lower="x"> is not a number');
    expect(message).toContain('joint "d": <limit lower="1"> is above upper="-1"');
    expect(message).toContain('joint "e" has type "ball"');
  });

  it('refuses a description whose every joint is fixed', () => {
    expect(problemsOf(withJoints('<joint name="m" type="fixed"/>'))).toMatch(/no joint that can be commanded/);
  });
});

describe('a joint frame', () => {
  const limits = parseUrdfLimits(SO101, 'so101.urdf');

  it('refuses joints the robot does not have, naming each with the likeliest meant', () => {
    const compile = (names: string[]) => () => JointFrame.compile(names, limits, settings(), '/arm/commands');
    expect(compile(['shoulder_pam', 'elbow_flex', 'tool'])).toThrow(
      /^\/arm\/commands: the robot has no joint "shoulder_pam" \(did you mean "shoulder_pan"\?\); the robot has no joint "tool"; name the joints as the robot's description does: shoulder_pan, /,
    );
    expect(compile(['gripper', 'gripper'])).toThrow(/joint "gripper" is named twice/);
    const mimic = parseUrdfLimits(
      withJoints('<joint name="f" type="continuous"/><joint name="g" type="continuous"><mimic joint="f"/></joint>'),
      'x',
    );
    expect(() => JointFrame.compile(['g'], mimic, settings(), 'cmd')).toThrow(
      /joint "g" cannot be commanded: it mimics "f"/,
    );
  });

  it('leaves a command within the limits as it is, and clamps each value outside them', () => {
    const frame = JointFrame.compile(ARM, limits, settings(), 'cmd');
    const within = Float64Array.of(0, 0.5, -0.5, 1.2, 0, 0.8);
    expect(frame.apply(within, 1, undefined, undefined)).toBe(0);
    expect(frame.violation()).toBeUndefined();
    const outside = Float64Array.of(3, -3, 3, -3, 3, -3);
    expect(frame.apply(outside, 1, undefined, undefined)).toBe(6);
    expect([...outside]).toEqual([1.92, -1.75, 1.69, -1.66, 2.84, -0.17]);
    expect(frame.violation()).toBe('"shoulder_pan" at point 0 is 3, above its upper limit 1.92');
  });

  it('bounds each step from the measured position, then from the point before', () => {
    const frame = JointFrame.compile(['shoulder_pan', 'elbow_flex'], limits, settings({ max_step: 0.2 }), 'cmd');
    const measured = Float64Array.of(1.0, -0.5);
    const points = Float64Array.of(1.5, -0.5, 1.9, -0.4);
    expect(frame.apply(points, 2, measured, undefined)).toBe(2);
    expect([...points].map((v) => +v.toFixed(6))).toEqual([1.2, -0.5, 1.4, -0.4]);
    expect(frame.violation()).toBe(
      '"shoulder_pan" at point 0 is 1.5, 0.5 from the measured position 1: more than max_step 0.2',
    );
    // Unknown measured: only the limits bound the first point.
    const first = Float64Array.of(1.5, -0.5);
    expect(frame.apply(first, 1, undefined, undefined)).toBe(0);
    expect(frame.apply(first, 1, Float64Array.of(NaN, -0.5), undefined)).toBe(0);
  });

  it('from a measured position within a step outside the limits, commands within them (an arm a little off its URDF)', () => {
    const frame = JointFrame.compile(['shoulder_pan'], limits, settings({ max_step: 0.1 }), 'cmd');
    const point = Float64Array.of(2.5);
    frame.apply(point, 1, Float64Array.of(1.97), undefined);
    expect(point[0]).toBeCloseTo(1.92);
    expect(frame.unresolved).toBe(false);
  });

  it('sends nothing from a measured position further outside the limits than a step: no command goes past them', () => {
    const frame = JointFrame.compile(['shoulder_pan'], limits, settings({ max_step: 0.1 }), 'cmd');
    const upper = limits.get('shoulder_pan')!.upper;
    // A measurement 2 rad past the upper limit (a lie, or a description far off the arm): a step from it is still past.
    const point = Float64Array.of(0);
    frame.apply(point, 1, Float64Array.of(upper + 2), undefined);
    expect(frame.unresolved).toBe(true);
    expect(frame.violation()).toMatch(/outside the limits .* by more than a step: nothing is sent/);
    const below = Float64Array.of(0);
    frame.apply(below, 1, Float64Array.of(limits.get('shoulder_pan')!.lower - 0.5), undefined);
    expect(frame.unresolved).toBe(true);
  });

  it('refuses a joint with no velocity limit unless an override gives one: its moves would have no time bound', () => {
    const free = parseUrdfLimits(
      '<robot name="r"><joint name="j" type="revolute"><limit lower="-1" upper="1"/></joint></robot>',
      'test',
    );
    expect(() => JointFrame.compile(['j'], free, settings(), 'cmd')).toThrow(/"j" has no velocity limit/);
    const given = JointFrame.compile(['j'], free, settings({ limits: { j: { velocity: 1 } } }), 'cmd');
    const durations = new Float64Array(1);
    given.apply(Float64Array.of(0.5), 1, Float64Array.of(0), durations);
    expect(durations[0]).toBeCloseTo(0.5);
  });

  it('holds a value that is not a number where it was, or says it cannot', () => {
    const frame = JointFrame.compile(['shoulder_pan', 'elbow_flex'], limits, settings({ max_step: 0.2 }), 'cmd');
    const points = Float64Array.of(NaN, 0.1, 0.2, Infinity);
    expect(frame.apply(points, 2, Float64Array.of(0.5, 0), undefined)).toBe(3);
    // NaN held at the measured 0.5; Infinity held at the point before; 0.2 is a step of 0.3 from 0.5.
    expect([...points].map((v) => +v.toFixed(6))).toEqual([0.5, 0.1, 0.3, 0.1]);
    expect(frame.unresolved).toBe(false);
    expect(frame.violation()).toBe('"shoulder_pan" at point 0 is NaN, not a position');
    const alone = Float64Array.of(-Infinity, 0);
    expect(frame.apply(alone, 1, undefined, undefined)).toBe(1);
    expect(frame.unresolved).toBe(true);
    expect(frame.violation()).toMatch(/is -Infinity, not a position, and there is no measured position/);
  });

  it('writes the least time each point needs at the velocity limits', () => {
    const frame = JointFrame.compile(['shoulder_pan', 'elbow_flex'], limits, settings(), 'cmd');
    const durations = new Float64Array(2);
    frame.apply(Float64Array.of(0.6, 0.3, 0.6, -1.2), 2, Float64Array.of(0, 0), durations);
    // 0.6 rad at 6 rad/s; then 1.5 rad at 6 rad/s
    expect(durations[0]).toBeCloseTo(0.1, 12);
    expect(durations[1]).toBeCloseTo(0.25, 12);
    frame.apply(Float64Array.of(0.6, 0.3), 1, undefined, durations);
    expect(durations[0]).toBe(0); // from an unknown position, no time can be known
  });

  it('narrows the limits by the overrides', () => {
    const over = settings({ max_step: 1, limits: { shoulder_pan: { upper: 1, max_step: 0.05, velocity: 1 } } });
    const frame = JointFrame.compile(['shoulder_pan', 'elbow_flex'], limits, over, 'cmd');
    const durations = new Float64Array(1);
    const point = Float64Array.of(1.5, 0.5);
    frame.apply(point, 1, Float64Array.of(0.98, 0), durations);
    expect([...point]).toEqual([1, 0.5]);
    expect(durations[0]).toBeCloseTo(0.5 / 6);
  });

  it("takes a joint's own max_step in place of the default, wider as well as narrower", () => {
    const over = settings({ max_step: 0.2, limits: { gripper: { max_step: 2 }, elbow_flex: { max_step: 0.05 } } });
    const frame = JointFrame.compile(['shoulder_pan', 'elbow_flex', 'gripper'], limits, over, 'cmd');
    const point = Float64Array.of(1, 1, 1.5);
    frame.apply(point, 1, Float64Array.of(0, 0, 0), undefined);
    expect([...point]).toEqual([0.2, 0.05, 1.5]);
    expect(frame.violation()).toMatch(
      /^"shoulder_pan" at point 0 is 1, 1 from the measured position 0: more than max_step 0.2/,
    );
  });

  it('refuses overrides that widen a limit or name a joint the robot does not have, each at its key path', () => {
    expect(
      overrideProblems(limits, {
        shoulder_pam: { upper: 1 },
        elbow_flex: { lower: -3, upper: 1 },
        gripper: { lower: 1.5, upper: 1 },
      }),
    ).toEqual([
      {
        path: 'motion.joints.limits.shoulder_pam',
        message: expect.stringMatching(/^the robot has no joint "shoulder_pam" \(did you mean "shoulder_pan"\?\)/),
      },
      {
        path: 'motion.joints.limits.elbow_flex.lower',
        message:
          "-3 is outside the description's -1.69: an override narrows the robot's limits, never widens them (correct the URDF to widen)",
      },
      { path: 'motion.joints.limits.gripper', message: 'lower 1.5 is above upper 1: no position would be allowed' },
    ]);
  });
});
