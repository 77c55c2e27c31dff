import type { LoopSettings } from '../../config/index.ts';
import { TWIST } from '../../motion/index.ts';
import { compileCommand, type CommandBuilder } from '../action-command.ts';
import { actionOutput, ManifestError, type OutputSpec, type PlacedSource, type PolicySpec } from '../policy-spec.ts';
import type { ImageInputSpec } from '../vision/image-input.ts';
import type { FrameSlotShape } from '../vision/frame-slot.ts';

/** A topic slice of an input tensor, with its slot on the observation board. */
export interface BoardSlot {
  slot: number;
  /** Index of its topic in LoopPlan.topics: staleness is counted and logged per topic, not per slice. */
  topicIndex: number;
  input: string;
  offset: number;
  length: number;
  topic: string;
  maxAgeMs: number;
  source: PlacedSource;
}

/** A camera feeding an image input whole, through a frame slot of its own (frame-slot.ts). */
export interface ImageSlot {
  /** Index of the slot among LoopPlan.images (and of its buffer among the worker's frame buffers). */
  slot: number;
  topicIndex: number;
  input: string;
  topic: string;
  maxAgeMs: number;
  image: ImageInputSpec;
  shape: FrameSlotShape;
}

export type LoopMode = 'step' | 'inline' | 'async';

/**
 * A joint position command's joints: their positions measured by name in a JointState topic, read onto a board slot
 * of their own after the policy's (`slot`); a stale reading is none. They bound the command's step (the joint
 * frame), and with `hold` (no safe_action given) the safe command holds them.
 */
export interface ArmPlan {
  slot: number;
  topic: string;
  joints: readonly string[];
  maxAgeMs: number;
  hold: boolean;
}

/** How a loop runs its policy: which output acts, how big a chunk is, which slices come from topics. */
export interface LoopPlan {
  output: OutputSpec;
  chunkSize: number;
  mode: LoopMode;
  slots: BoardSlot[];
  images: ImageSlot[];
  /**
   * The topics the slots read, each once: several slices of one message (position and velocity of a
   * JointState) are one observation, stale once any of its slices is older than its limit.
   */
  topics: { topic: string; maxAgeMs: number }[];
  safeAction: Float32Array;
  /** A joint position command (one that names its joints): where their measured positions come from. */
  arm?: ArmPlan;
}

/** The board's slot lengths: the policy's slices, then the arm's joints. */
export function boardLengths(plan: LoopPlan): number[] {
  const lengths = plan.slots.map((s) => s.length);
  if (plan.arm) lengths.push(plan.arm.joints.length);
  return lengths;
}

/**
 * Plans a loop from its settings and its policy's spec. Both the main thread (which fills the board) and
 * the worker (which reads it) compute the same plan from the same inputs, so slot numbers agree.
 */
export function planLoop(name: string, loop: LoopSettings, spec: PolicySpec): LoopPlan {
  const at = `control.loops.${name}`;
  const output = actionOutput(spec, loop.output);
  const k = output.shape.length >= 3 ? output.shape[output.shape.length - 2] : 1;
  if (typeof k !== 'number' || k < 1) {
    throw new ManifestError(
      `${at}: output ${output.name} ${JSON.stringify(output.shape)} has a symbolic chunk dimension; export the model with a fixed chunk size`,
    );
  }
  const mode: LoopMode = k === 1 ? 'step' : loop.chunking.inference;
  const { n_action_steps: steps, temporal_ensemble_coeff: coeff } = loop.chunking;
  if (steps !== undefined && steps > k)
    throw new ManifestError(
      `${at}.chunking.n_action_steps: ${steps} is more than the ${k} actions of a chunk of ${output.name}`,
    );
  if (coeff !== undefined && mode !== 'inline')
    throw new ManifestError(
      `${at}.chunking.temporal_ensemble_coeff plans a chunk every tick: it needs chunking.inference: inline and a chunk policy (output ${output.name} ${JSON.stringify(output.shape)})`,
    );
  if (coeff !== undefined && steps !== undefined && steps !== 1)
    throw new ManifestError(
      `${at}.chunking: temporal_ensemble_coeff executes one action per chunk; leave n_action_steps out (or 1)`,
    );
  const slots: BoardSlot[] = [];
  const topics: LoopPlan['topics'] = [];
  const images: ImageSlot[] = [];
  const topicOf = (topic: string, maxAgeMs: number): number => {
    const index = topics.findIndex((t) => t.topic === topic);
    if (index < 0) return topics.push({ topic, maxAgeMs }) - 1;
    // The slices of one message share its time: the topic goes stale at the shortest of their limits.
    topics[index]!.maxAgeMs = Math.min(topics[index]!.maxAgeMs, maxAgeMs);
    return index;
  };
  for (const input of spec.inputs) {
    if (input.image) {
      const { topic, max_age_ms } = input.image.settings;
      if (topic === undefined)
        throw new ManifestError(
          `policies.${spec.name}.inputs.${input.name}.image.topic: a control loop needs the camera topic that feeds it`,
        );
      const maxAgeMs = max_age_ms ?? loop.max_observation_age_ms;
      const { width, height, channels } = input.image;
      images.push({
        slot: images.length,
        topicIndex: topicOf(topic, maxAgeMs),
        input: input.name,
        topic,
        maxAgeMs,
        image: input.image,
        shape: { width, height, channels, depth16: channels === 1 },
      });
      continue;
    }
    if (input.recurrent === undefined && input.sources.length === 0) {
      throw new ManifestError(
        `policies.${spec.name}.inputs.${input.name}: a control loop needs sources for every input (topics, constants or previous outputs)`,
      );
    }
    for (const source of input.sources) {
      if (source.kind === 'previous_output' && mode === 'async') {
        throw new ManifestError(
          `${at}: policy ${spec.name} input ${input.name} uses previous_output, which needs inference in the loop (a step policy or chunking.inference: inline)`,
        );
      }
      if (source.kind !== 'topic') continue;
      const topic = source.settings.topic!;
      const maxAgeMs = source.settings.max_age_ms ?? loop.max_observation_age_ms;
      const topicIndex = topicOf(topic, maxAgeMs);
      slots.push({
        slot: slots.length,
        topicIndex,
        input: input.name,
        offset: source.offset,
        length: source.length,
        topic,
        maxAgeMs,
        source,
      });
    }
  }
  const safe = loop.safe_action ?? new Array<number>(output.dim).fill(0);
  if (safe.length !== output.dim)
    throw new ManifestError(
      `${at}.safe_action has ${safe.length} values, an action of ${output.name} has ${output.dim}`,
    );
  const safeAction = Float32Array.from(safe);
  // Checked as float32: 1e39 is a finite double but Infinity once it is an action.
  if (!safeAction.every(Number.isFinite))
    throw new ManifestError(
      `${at}.safe_action must hold finite float32 numbers (|x| < 3.4e38): ${JSON.stringify(safe)}`,
    );
  const { command } = output;
  const arm: ArmPlan | undefined =
    command && command.type !== TWIST && command.joint_names.length > 0
      ? {
          slot: slots.length,
          topic: command.joint_states,
          joints: command.joint_names,
          maxAgeMs: loop.max_observation_age_ms,
          hold: loop.safe_action === undefined,
        }
      : undefined;
  return { output, chunkSize: k, mode, slots, images, topics, safeAction, ...(arm ? { arm } : {}) };
}

/** What turns the loop's actions into its command message; undefined for an action output with no command. */
export function compileLoopCommand(policyName: string, plan: LoopPlan): CommandBuilder | undefined {
  const { command, dim, name } = plan.output;
  return command ? compileCommand(command, dim, `policies.${policyName}.outputs.${name}.command`) : undefined;
}
