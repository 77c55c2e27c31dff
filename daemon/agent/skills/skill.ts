import type { Logger } from 'pino';
import type { Static, TSchema } from 'typebox';
import type { ActionGoals } from '../../actions/index.ts';
import type { Bus } from '../../bus/index.ts';
import type { MessageCodec } from '../../bus/index.ts';
import type { AgentSettings, SkillName } from '../../config/index.ts';
import type { CmdVelGate } from '../../motion/index.ts';
import type { HaltTick } from '../../contract/index.ts';
import { RosName, type NameScope } from '../../names/index.ts';
import type { MotionLock } from '../motion-lock.ts';
import type { NavigationService, PolicyRunnerService } from '../services.ts';

/**
 * A topic a skill or a validator names, as ROS 2 names it (`/cmd_vel`, `cmd_vel`, `~/status`): the tool invoker
 * puts it in its fully qualified form before any policy hook sees it, and refuses a spelling ROS 2 does not
 * allow (`/cmd_vel/`, `//cmd_vel`, a glob's `*`), so a hook that compares names compares the topic itself.
 */
export const TopicName = (description = 'a ROS 2 topic name, e.g. /cmd_vel') =>
  RosName({ maxLength: 256, description });

/** What a skill may use. Services that another part provides are looked up per call: they come and go. */
export interface SkillEnv {
  bus: Bus;
  codec: MessageCodec;
  gate: CmdVelGate;
  motion: MotionLock;
  settings: AgentSettings;
  /** The node relative and private names in a call resolve against (ros.namespace, ros.node_name). */
  names: NameScope;
  log: Logger;
  navigation(): NavigationService | undefined;
  policies(): PolicyRunnerService | undefined;
  /** The goals the daemon has in flight, which the operator's stop cancels (call_action adds its own). */
  actionGoals?: ActionGoals;
  /**
   * The operator's stop (the daemon's HaltAuthority), by `by`: the latch, the arm's hold, the loops, the goals, every
   * run but `spare` (the run that asked for it) cancelled. What its first tick did, at once; the rest (its event, the
   * latch file) goes on without the caller.
   */
  halt?: (order: { by: string; spare: string }) => HaltTick;
  /** The run the call is made in: given to a skill that acts first (`stop`). */
  runId?: string;
}

/** Journals an event of the run with this call (`action.feedback`), beside its tool.call and tool.result. */
export type SkillNote = (kind: string, payload: Record<string, unknown>) => void;

/**
 * A named, typed capability: a TypeBox schema for its parameters and deterministic code. The same
 * definition is a pi tool for the model and runs directly for an intent that names it. `execute` returns
 * JSON for the caller, or throws an Error saying what went wrong (which the model then reads).
 */
export interface SkillDefinition<P extends TSchema = TSchema> {
  readonly name: SkillName;
  readonly description: string;
  readonly parameters: P;
  /** Moves the robot: one at a time, stopped by `stop`, and guarded after a suspected injection. */
  readonly motion: boolean;
  /**
   * Waits on the world (a message, a goal, a policy) and stops early when its run ends: it reads `signal`,
   * which is then the run's. A skill that returns at once (or is bounded by its own timeout) is given a
   * signal that never aborts: a run's AbortController, made and aborted, costs more than the rest of a
   * short run's frame. A motion skill always gets the run's signal (through its motion lock).
   */
  readonly cancellable: boolean;
  /**
   * Acts before its tool.call is durable, and the call is journaled right after: `stop` never waits for
   * the disk (an fsync on a slow SD card, a journal that refuses writes on a full disk). Only for a skill
   * that is safe to have done unrecorded: a crash between the two loses the record of a stop, never of a
   * motion. Every other skill acts only once its call is in the journal.
   */
  readonly actsFirst?: boolean;
  execute(args: Static<P>, env: SkillEnv, signal: AbortSignal, note?: SkillNote): Promise<unknown>;
}

/**
 * A frame inside a skill that changed what the skill was asked to send (the velocity gate clamping a Twist,
 * or holding it to zero while the operator's stop is latched). A skill returns them as `decisions` in its
 * output; the run journals each as a `policy.decision` (stage `frame`), beside the value that was sent.
 */
export interface FrameDecision {
  hook: string;
  rule: string;
  action: 'rewrite';
  reason: string;
}

/** The frame decisions a skill's output carries (see FrameDecision). */
export function frameDecisions(output: unknown): FrameDecision[] {
  const decisions = (output as { decisions?: unknown } | null)?.decisions;
  return Array.isArray(decisions) ? (decisions as FrameDecision[]) : [];
}

export function defineSkill<P extends TSchema>(skill: SkillDefinition<P>): SkillDefinition<P> {
  return skill;
}
