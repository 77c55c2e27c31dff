import { canonicalType, compileTopicSelection, type Bus, type MessageCodec } from '../bus/index.ts';
import type { MotionSettings } from '../config/index.ts';
import { ALLOW, type PolicyDecision, type PolicyHook, type ToolCallContext } from '../contract/index.ts';
import { actuation, latchedGoalRefusal } from './actuation.ts';
import { geofenceHook, type RobotPose } from './geofence.ts';
import { goalJointsHook } from './goal-joints.ts';
import { jointLimitsHook, type JointInputs } from './joint-limits-hook.ts';
import { robotPose } from './robot-pose.ts';
import { field, fullTwist, twistMoves } from './tool-inputs.ts';
import { governedTopics, TWIST, TWIST_STAMPED, velocityHook } from './velocity.ts';

/** What the guard reads of the robot and of the stop as they are now. */
export interface MotionGuardInputs {
  /** Why nothing may move the robot now (the operator's stop latched), or undefined. */
  latched?: () => string | undefined;
  /** motion.joints' limits and measured positions (without them, joint commands are refused while it is set). */
  joints?: () => JointInputs | undefined;
  /** The robot's last pose, for the geofence (without it, a fence holds every moving Twist on the velocity topic). */
  pose?: () => RobotPose | undefined;
  /** The type a topic carries, for a publish that names none. */
  topicType?: (topic: string) => string | undefined;
  /** Internal topics forwarded to the velocity topic (the agent's navigator's): held as the velocity topic is. */
  forwarded?: readonly string[];
}

/** Which of the guard's stages a caller asks for: all of them, or the latch alone (a command judged before). */
export type GuardStages = 'all' | 'latch';

/** What the guard knows of one command topic and type, compiled once: whether it commands, and what judges it. */
export interface TopicPlan {
  /** A command topic (held while latched, whatever its type); false: motion.non_actuating declares it. */
  readonly command: boolean;
  /** Whether a limit stage reads this topic's messages (a Twist on a velocity topic, a joint command). */
  readonly limited: boolean;
}

/** Types a message of which actuation() does not call motion is a stop (a zero Twist, a trajectory with no points). */
const STOPS: ReadonlySet<string> = new Set([
  'geometry_msgs/msg/Twist',
  'geometry_msgs/msg/TwistStamped',
  'trajectory_msgs/msg/JointTrajectory',
  'trajectory_msgs/msg/MultiDOFJointTrajectory',
  'std_msgs/msg/Float64MultiArray',
  'std_msgs/msg/Float32MultiArray',
]);

/** The joint command types the joints stage reads (as motion.joints' topics and state topic say). */
const JOINT_TYPES: ReadonlySet<string> = new Set([
  'trajectory_msgs/msg/JointTrajectory',
  'sensor_msgs/msg/JointState',
  'std_msgs/msg/Float64MultiArray',
]);

/** Plans kept per guard: topics a daemon publishes are few, but a client may name many. */
const MAX_PLANS = 1024;

/**
 * The motion gate: one guard, compiled from `motion:`, that decides whether a command may move the robot, for
 * every door (the agent's skills and intents, MCP, a Foxglove client and `topic pub` through its hooks; `bag play`
 * and the ROS and Zenoh bridges through commandGuard; action goals). Its stages run in this order, each a hook
 * with its rule, the first refusal ending it and a rewrite passed on:
 *
 * 1. the latch (`stop_latch`): while the operator's stop holds, a command topic carries nothing but a stop, whatever
 *    its type; a goal, a navigation, a policy run or a loop start is refused;
 * 2. the velocity limits (`velocity.limit`): a Twist on a velocity topic, non-finite values included;
 * 3. the joints (`joints.*`): a joint command's positions finite, within the URDF's limits and max_step from the
 *    point before (the first from the measured position), its times, velocities and efforts within the limits;
 * 4. the action goals' joints (`joints.goal`);
 * 5. the geofence (`geofence*`), which judges the command as the limits left it.
 *
 * A control loop's commands are held in its own thread by the same limits (JointFrame, compiled there from them),
 * allocation-free. Hold one per door and `apply` a reload's settings to it.
 */
export class MotionGuard {
  /** The stages, in order, as hooks: replaced in place by `apply`, so whoever holds the array sees the new ones. */
  readonly hooks: PolicyHook[] = [];
  readonly #inputs: Required<Omit<MotionGuardInputs, 'forwarded'>> & { forwarded: readonly string[] };
  #settings: MotionSettings;
  #declared: (topic: string) => boolean = () => false;
  #governed: (topic: string) => boolean = () => false;
  readonly #plans = new Map<string, TopicPlan>();
  #version = 0;

  constructor(settings: MotionSettings, inputs: MotionGuardInputs = {}) {
    this.#inputs = {
      latched: inputs.latched ?? (() => undefined),
      joints: inputs.joints ?? (() => undefined),
      pose: inputs.pose ?? (() => undefined),
      topicType: inputs.topicType ?? (() => undefined),
      forwarded: inputs.forwarded ?? [],
    };
    this.#settings = settings;
    this.apply(settings);
  }

  get settings(): MotionSettings {
    return this.#settings;
  }

  /** Why nothing may move the robot now (the stop latched), or undefined. */
  latched(): string | undefined {
    return this.#inputs.latched();
  }

  /** How many times `apply` compiled it: a caller that keeps a plan asks for it again when this changed. */
  get version(): number {
    return this.#version;
  }

  /** A reload's `motion:`: every stage and every topic's plan compiled anew. */
  apply(settings: MotionSettings): void {
    this.#version++;
    this.#settings = settings;
    this.#declared = compileTopicSelection(settings.non_actuating.topics);
    this.#governed = governedTopics(settings.velocity);
    this.#plans.clear();
    const { joints, pose, topicType } = this.#inputs;
    this.hooks.splice(
      0,
      this.hooks.length,
      this.#latchStage(),
      velocityHook(settings.velocity),
      jointLimitsHook(settings.joints, joints, topicType),
      goalJointsHook(settings.joints, joints),
      geofenceHook(settings.geofence, { limits: settings.velocity, pose }),
    );
  }

  /** One topic's plan for `type` (as the bus names it), compiled on first use. */
  plan(topic: string, type: string): TopicPlan {
    const key = `${topic}\u0000${type}`;
    let plan = this.#plans.get(key);
    if (plan) return plan;
    const name = canonicalType(type);
    const velocity = (name === TWIST || name === TWIST_STAMPED) && this.#governed(topic);
    plan = {
      command: !this.#declared(topic) && !this.#settings.non_actuating.types.includes(name),
      limited: velocity || (this.#settings.joints !== undefined && JOINT_TYPES.has(name)),
    };
    if (this.#plans.size >= MAX_PLANS) this.#plans.clear();
    this.#plans.set(key, plan);
    return plan;
  }

  /**
   * The guard's decision on a tool call's input (`publish`: {topic, type, fields}; `call_action`: {type, goal};
   * `navigate_to`: {x, y}): its stages in order, rewrites passed on, the first refusal final. A rewrite's `value` is
   * the input as the robot may take it; its rule and reason are the last stage's that rewrote.
   */
  decide(tool: string, input: unknown, stages: GuardStages = 'all'): PolicyDecision<unknown> {
    const ctx = { tool } as ToolCallContext;
    const last = stages === 'latch' ? 1 : this.hooks.length;
    let current = input;
    let rewrite: PolicyDecision<unknown> | undefined;
    for (let i = 0; i < last; i++) {
      const decision = this.hooks[i]!.beforeToolCall!(ctx, current) as PolicyDecision<unknown>;
      if (decision.action === 'allow') continue;
      if (decision.action === 'deny') return decision;
      rewrite = decision;
      current = decision.value;
    }
    return rewrite ?? ALLOW;
  }

  /**
   * Why an action goal may not be sent (a door that sends or serves goals: the API's, a ROS or Zenoh client's to a
   * served action), or undefined: the guard's decision on it as a `call_action`. `rule` says which stage refused:
   * `stop_latch`, `joints.goal` or `geofence`.
   */
  goalRefusal(type: string, goal: unknown): { rule: string; reason: string } | undefined {
    const decision = this.decide('call_action', { type, goal });
    return decision.action === 'deny' ? { rule: decision.rule, reason: decision.reason } : undefined;
  }

  /**
   * The latch (first stage): while latched, every call that would move the robot is refused with who latched it and
   * how to release it, whoever makes it. A goal of any action, a navigation, a policy run and a loop start are
   * refused. A publish passes only when it is a stop: on a velocity topic (or one the gate forwards there) a Twist
   * that is zero read either way (a Twist or a TwistStamped: the publish skill sends a Twist whatever type it
   * names); elsewhere a message that actuation() does not call motion, and, on a command topic (one
   * motion.non_actuating does not declare), only of a type whose every such message is a stop.
   */
  #latchStage(): PolicyHook {
    const { latched, topicType, forwarded } = this.#inputs;
    return {
      name: 'stop_latch',
      beforeToolCall: (ctx, input) => {
        const refusal = latched();
        if (refusal === undefined) return ALLOW;
        if (ctx.tool === 'call_action') {
          // Every goal, of any action: the one it names says what it would have moved.
          const reason = latchedGoalRefusal(refusal, field<string>(input, 'type'), field<unknown>(input, 'goal'));
          return { action: 'deny', rule: 'stop_latch', reason: reason ?? refusal };
        }
        if (ctx.tool === 'navigate_to' || ctx.tool === 'run_policy' || ctx.tool === 'start_loop')
          return { action: 'deny', rule: 'stop_latch', reason: refusal };
        if (ctx.tool !== 'publish') return ALLOW;
        const topic = field<string>(input, 'topic');
        if (topic === undefined) return ALLOW;
        const fields = field<unknown>(input, 'fields');
        if (
          (this.#governed(topic) || forwarded.includes(topic)) &&
          (twistMoves(fullTwist(fields)) || twistMoves(fullTwist(field(fields, 'twist'))))
        )
          return deny(`${refusal} (a Twist that moves, on ${topic})`);
        const type = field<string>(input, 'type') ?? topicType(topic);
        const moves = type === undefined ? undefined : actuation(type, fields, topic);
        if (moves !== undefined) return deny(`${refusal} (${moves}, on ${topic})`);
        const name = type === undefined ? undefined : canonicalType(type);
        if (name !== undefined && (STOPS.has(name) || !this.plan(topic, name).command)) return ALLOW;
        if (name === undefined && this.#declared(topic)) return ALLOW;
        return deny(
          `${refusal} (a ${name ?? 'message of a type not named'} on a command topic (motion.non_actuating does not declare it), on ${topic})`,
        );
      },
    };
  }
}

function deny(reason: string): PolicyDecision<unknown> {
  return { action: 'deny', rule: 'stop_latch', reason };
}

/** What a door's guard reads: a component's context (the config, the stop's latch, the robot, the bus). */
export interface DoorSources {
  readonly config: { motion: MotionSettings; agent: { navigation: { odom_topic: string } } };
  readonly haltAuthority: { latch: { refusal(): string | undefined } };
  readonly robot: JointInputs & { settings: unknown };
  readonly bus: Bus;
}

/**
 * A door's guard, which follows the daemon's config: each call returns the same guard, `motion:` re-applied when a
 * reload replaced it. It reads the latch, the robot's joints and the pose from `agent.navigation.odom_topic`.
 */
export function doorGuard(ctx: DoorSources, codec: MessageCodec): () => MotionGuard {
  const inputs: MotionGuardInputs = {
    latched: () => ctx.haltAuthority.latch.refusal(),
    joints: () => (ctx.robot.settings ? ctx.robot : undefined),
    pose: robotPose(ctx.bus, codec, () => ctx.config.agent.navigation.odom_topic),
  };
  let guard: MotionGuard | undefined;
  return () => {
    const settings = ctx.config.motion;
    if (!guard) guard = new MotionGuard(settings, inputs);
    else if (guard.settings !== settings) guard.apply(settings);
    return guard;
  };
}
