import type { PolicyHook, HaltLatchView } from '../contract/index.ts';
import { hooksWith, policyHooks, type HookSettings } from '../policy/index.ts';
import type { JointInputs, RobotPose } from '../motion/index.ts';
import { AGENT_NAV_CMD_VEL } from './agent-navigation.ts';

export interface AgentPolicyOptions {
  settings: HookSettings;
  latch: HaltLatchView;
  /** The type a topic carries, when the bus knows it: a moving Twist on any topic is held while latched. */
  topicType: (topic: string) => string | undefined;
  /** The robot's last pose (odometry), for the geofence's hold on velocity commands. */
  pose: () => RobotPose | undefined;
  /** The joint limits and measured positions of motion.joints, while it is set and they are loaded. */
  joints: () => JointInputs | undefined;
  /** The application's hooks, after the configured ones. */
  extra: readonly PolicyHook[];
}

/**
 * The agent's rules and the hook chain made of them and of the motion guard (whose latch also holds the navigator's
 * topic, which the gate forwards), then the application's hooks. A reload replaces the
 * chain in place, so whoever holds the array (Foxglove's publish gate) sees the new chain too.
 */
export class AgentPolicy {
  /** The hooks every tool call passes through; other ways of acting (Foxglove teleop) use the same ones. */
  readonly hooks: PolicyHook[];
  readonly #latch: HaltLatchView;
  readonly #topicType: (topic: string) => string | undefined;
  readonly #pose: () => RobotPose | undefined;
  readonly #joints: () => JointInputs | undefined;
  readonly #extra: readonly PolicyHook[];
  #settings: HookSettings;
  #intentHooks: PolicyHook[];

  constructor(options: AgentPolicyOptions) {
    const { settings, latch, topicType, pose, joints, extra } = options;
    this.#latch = latch;
    this.#topicType = topicType;
    this.#pose = pose;
    this.#joints = joints;
    this.#extra = extra;
    this.#settings = settings;
    this.hooks = this.#chain(settings);
    this.#intentHooks = hooksWith(this.hooks, 'onIntent');
  }

  get settings(): HookSettings {
    return this.#settings;
  }

  /** The hooks an intent passes before its run starts. */
  get intentHooks(): readonly PolicyHook[] {
    return this.#intentHooks;
  }

  apply(settings: HookSettings): void {
    this.#settings = settings;
    this.hooks.splice(0, this.hooks.length, ...this.#chain(settings));
    this.#intentHooks = hooksWith(this.hooks, 'onIntent');
  }

  #chain(settings: HookSettings): PolicyHook[] {
    return [
      ...policyHooks(settings, {
        latched: () => this.#latch.refusal(),
        forwarded: [AGENT_NAV_CMD_VEL],
        pose: this.#pose,
        joints: this.#joints,
        topicType: this.#topicType,
      }),
      ...this.#extra,
    ];
  }
}
