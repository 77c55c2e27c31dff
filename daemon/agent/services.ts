import type { LoopStart, Port } from '../contract/index.ts';
import type { ModelService } from './model-service.ts';

/**
 * What skills need from other parts, as small interfaces so each part can be absent (the agent degrades)
 * or replaced in tests.
 */

/** Drives the robot to a map point (daemon/navigation's Navigator has this shape). */
export interface NavigationService {
  navigateTo(
    goal: { x: number; y: number },
    options: { timeoutS?: number; signal?: AbortSignal },
  ): Promise<{
    reached: boolean;
    outcome: string;
    message: string;
    goal?: { x: number; y: number };
    elapsedS?: number;
    commanded?: boolean;
  }>;
  /** Where the robot is, when known: a failed goal says where the robot stopped and how far it had left. */
  readonly pose?: { x: number; y: number } | undefined;
}

/**
 * System 1 (component `policies` or `control`, issue 4): runs a named control policy for some seconds.
 * Its output must reach the velocity topic through the daemon's limits like any other motion.
 */
export interface PolicyRunnerService {
  runPolicy(name: string, options: { seconds: number; signal: AbortSignal }): Promise<{ ok: boolean; message: string }>;
  /** Lets an autostart loop held since the stop's release drive again (ControlService.startLoop). */
  startLoop(name: string): LoopStart;
}

/** The sim component's named poses (charging_dock, ...), when a sim runs. */
export interface NamedPoses {
  readonly namedPoses: Record<string, { x: number; y: number }>;
}

/** What the agent takes from other components, typed (see Port). */
export const AGENT_PORTS = {
  namedPoses: { name: 'the named poses' } as Port<NamedPoses>,
  policies: { name: 'the policy runner' } as Port<PolicyRunnerService>,
  motion: { name: "the agent's motion lock" } as Port<MotionHolder>,
  model: { name: 'System 2 (the llm component)' } as Port<ModelService>,
} as const;

/**
 * The agent's motion lock, for a driver outside its runs (the sim's main job): while the driver holds it,
 * the operator's stop aborts the driver's signal (a MotionAborted naming who stopped it) and a run's motion
 * skill supersedes it, as they do for a run's own navigation. `release` once the driver has stopped.
 */
export interface MotionHolder {
  holdMotion(name: string, signal: AbortSignal): { signal: AbortSignal; release: () => void };
}
