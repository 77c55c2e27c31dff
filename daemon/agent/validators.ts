import Type, { type Static } from 'typebox';
import type { Bus } from '../bus/index.ts';
import type { MessageCodec } from '../bus/index.ts';
import { nextMessage } from './bus-read.ts';
import { TopicName } from './skills/skill.ts';
import { errorText } from '../util/index.ts';

/**
 * Checks a run declares on its outcome (in the intent's params, `validators`). When one fails, the run is
 * refined: the model is told why and tries again, or a deterministic skill runs again, up to
 * agent.max_refines times. Validators read the bus, never the model's word.
 */
const GoalReached = Type.Object(
  {
    type: Type.Literal('goal_reached'),
    x: Type.Optional(Type.Number({ description: "default: the run's last navigate_to goal" })),
    y: Type.Optional(Type.Number()),
    // No schema defaults: they come from agent.navigation (tolerance_m, odom_topic) when the run is checked.
    tolerance_m: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: 'default: agent.navigation.tolerance_m' }),
    ),
    topic: Type.Optional(TopicName('nav_msgs/msg/Odometry; default: agent.navigation.odom_topic')),
  },
  { additionalProperties: false },
);

const TopicPredicate = Type.Object(
  {
    type: Type.Literal('topic_predicate'),
    topic: TopicName(),
    field: Type.String({
      minLength: 1,
      description: 'dot path into the decoded message, e.g. pose.pose.position.x or ranges.0',
    }),
    op: Type.Union([
      Type.Literal('<'),
      Type.Literal('<='),
      Type.Literal('>'),
      Type.Literal('>='),
      Type.Literal('=='),
      Type.Literal('!='),
    ]),
    value: Type.Union([Type.Number(), Type.String(), Type.Boolean()]),
    timeout_ms: Type.Integer({ minimum: 1, default: 2000 }),
  },
  { additionalProperties: false },
);

export const ValidatorSpec = Type.Union([GoalReached, TopicPredicate]);
export const ValidatorList = Type.Array(ValidatorSpec, { maxItems: 8 });
export type ValidatorSpec = Static<typeof ValidatorSpec>;

export interface ValidatorOutcome {
  validator: string;
  passed: boolean;
  /** 1 when passed; otherwise how close, in [0, 1). */
  score: number;
  feedback: string;
}

export interface ValidatorEnv {
  bus: Bus;
  codec: MessageCodec;
  lastGoal: { x: number; y: number } | undefined;
  signal: AbortSignal;
  /** Where goal_reached reads the robot's position unless the validator names a topic. */
  odomTopic: string;
  /** goal_reached's tolerance unless the validator gives one: the navigator's, so arriving passes. */
  toleranceM: number;
}

type Odometry = { pose: { pose: { position: { x: number; y: number } } } };

export async function evaluateValidator(spec: ValidatorSpec, env: ValidatorEnv): Promise<ValidatorOutcome> {
  if (spec.type === 'goal_reached') {
    const goal = spec.x !== undefined && spec.y !== undefined ? { x: spec.x, y: spec.y } : env.lastGoal;
    const tolerance = spec.tolerance_m ?? env.toleranceM;
    const topic = spec.topic ?? env.odomTopic;
    const name = `goal_reached(${goal ? `${goal.x}, ${goal.y}` : '?'}, ${tolerance} m)`;
    if (!goal)
      return { validator: name, passed: false, score: 0, feedback: 'no goal: give x and y, or call navigate_to first' };
    let odom: Odometry;
    try {
      const msg = await nextMessage(env.bus, topic, 2000, env.signal);
      odom = env.codec.decode<Odometry>(msg.type, msg.data);
    } catch (error) {
      return {
        validator: name,
        passed: false,
        score: 0,
        feedback: `cannot read the robot's position: ${errorText(error)}`,
      };
    }
    const p = odom.pose.pose.position;
    const distance = Math.hypot(p.x - goal.x, p.y - goal.y);
    const passed = distance <= tolerance;
    return {
      validator: name,
      passed,
      score: passed ? 1 : Math.min(0.99, tolerance / distance),
      feedback: `the robot is at (${p.x.toFixed(2)}, ${p.y.toFixed(2)}), ${distance.toFixed(2)} m from the goal (tolerance ${tolerance} m)`,
    };
  }
  const name = `${spec.topic}.${spec.field} ${spec.op} ${JSON.stringify(spec.value)}`;
  let actual: unknown;
  try {
    const msg = await nextMessage(env.bus, spec.topic, spec.timeout_ms, env.signal);
    actual = spec.field
      .split('.')
      .reduce<unknown>(
        (v, key) => (v === null || typeof v !== 'object' ? undefined : (v as Record<string, unknown>)[key]),
        env.codec.decode(msg.type, msg.data),
      );
  } catch (error) {
    return { validator: name, passed: false, score: 0, feedback: errorText(error) };
  }
  if (typeof actual === 'bigint') actual = Number(actual);
  const passed = compare(actual, spec.op, spec.value);
  return {
    validator: name,
    passed,
    score: passed ? 1 : 0,
    feedback: `${spec.topic} ${spec.field} is ${JSON.stringify(actual) ?? 'missing'}`,
  };
}

function compare(
  actual: unknown,
  op: Static<typeof TopicPredicate>['op'],
  expected: number | string | boolean,
): boolean {
  switch (op) {
    case '==':
      return actual === expected;
    case '!=':
      return actual !== expected;
    default: {
      if (typeof actual !== 'number' || typeof expected !== 'number') return false;
      return op === '<'
        ? actual < expected
        : op === '<='
          ? actual <= expected
          : op === '>'
            ? actual > expected
            : actual >= expected;
    }
  }
}
