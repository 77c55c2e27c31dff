import type { DecodePool } from '../vision/decode-pool.ts';
import type { Bus, RobotGraph } from '../../bus/index.ts';
import type { DefinitionsRegistry } from '../../bus/index.ts';
import type { LoopSettings, PolicySettings } from '../../config/index.ts';
import type { JointFrameSettings, JointLimits } from '../../motion/index.ts';
import type { VelocityLimits } from './command-safety.ts';
import type { LoopStats } from './loop-state.ts';
import type { ObservationSummary } from './observation-watch.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';
import type { GraphQueries } from '../../contract/index.ts';
import type { Logger } from 'pino';

export interface ControlLoopOptions {
  name: string;
  loop: LoopSettings;
  policyName: string;
  policy: PolicySettings;
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
  /** The robot's measured joints: a state message from a client door, or while another node publishes them, is none. */
  robot?: { readonly measured: { readonly topic: string; ambiguity(): string | undefined } };
  /** A loop that has not ticked for this long is not alive. */
  livenessTimeoutMs?: number;
  /** Called on the main thread for each command the loop sends (after it is published). */
  onCommand?: (values: Float32Array, safe: boolean) => void;
  /**
   * motion.velocity: a Twist command on its topic is clamped to these. Default: motion.velocity's defaults (never
   * unlimited).
   */
  velocity?: VelocityLimits;
  /**
   * motion.joints, when configured: a joint command (one that names its joints) is held to the robot's limits as
   * they are when the loop starts (`current()`: the limits, or why there are none yet, which fails the start).
   */
  joints?: { current(): JointLimits | string; settings: JointFrameSettings };
  /**
   * Called once when the loop thread, or an async loop's inference thread, dies after the loop was ready,
   * other than by stop() (an uncaught error, an exit, running out of memory), with a LoopCrash that says which.
   */
  onCrash?: (error: Error) => void;
  /**
   * Why the loop may not move the robot now (the operator's stop is latched), or undefined. Asked on the main
   * thread at each command: while it says so, policy commands are not published and the loop thread sends
   * its safe action instead.
   */
  refusal?: () => string | undefined;
  /** The daemon's stop line (RobotHaltAuthority.haltLine), which the loop's thread reads every tick. */
  haltLine?: SharedArrayBuffer;
  /** The robot's graph: a command topic no node subscribes (a controller not loaded) makes the loop unheard. */
  graph?: Pick<RobotGraph, 'endpoints'>;
  /** The daemon's decode processes, which its cameras' frames share; without them, a process per camera. */
  decodePool?: DecodePool;
  /**
   * Tests only: the module an async loop's inference thread runs (default inference-worker.ts), for a
   * stand-in that dies on cue. The control component never sets it, so no config can reach it.
   */
  inferenceWorker?: URL;
  /** The Zenoh link's queries, as they are now: what a policy served over Zenoh is asked through. */
  graphQueries?: () => GraphQueries | undefined;
  /**
   * The window of the loop's recurring log lines (a failing tick, a stale observation, a message that does
   * not fit the policy): the first at once, then one per window with the count held back. Default 60 s;
   * tests set it to see the count of lines for N events without waiting on a clock.
   */
  logIntervalMs?: number;
}

/** A loop's thread died after the loop was ready: which thread, and why. */
export class LoopCrash extends Error {
  override name = 'LoopCrash';
  readonly thread: 'loop' | 'inference';
  constructor(thread: 'loop' | 'inference', message: string) {
    super(message);
    this.thread = thread;
  }
}

export interface ControlLoopStats extends LoopStats {
  name: string;
  policy: string;
  rateHz: number;
  mode: string;
  /** The loop thread's scheduling as the kernel reports it, e.g. "SCHED_FIFO 50", with why not when refused. */
  scheduling: string;
  /** The loop thread's Linux thread id (for chrt, taskset, ps -L). */
  tid: number;
  chunkSize: number;
  topics: string[];
  /** Messages the main thread could not turn into observations (wrong shape, missing field). */
  observationErrors: number;
  /** Camera frames whose decode ran past image.decode_timeout_ms: abandoned, and counted in observationErrors too. */
  decodesAbandoned: number;
  /** Messages of a joint position command's measured joints (motion.joints' state topic) taken onto the board. */
  measuredTaken: number;
  /**
   * Why the loop is blind (it sends only its safe action for want of fresh observations): the inputs and topics at
   * fault, and why. Undefined while it sees.
   */
  blind?: string;
  /** Why its commands go nowhere (no node in the robot's graph subscribes their topic), or undefined. */
  unheard?: string;
  /** Each topic it reads: messages, refusals, the newest observation's age. */
  observations: ObservationSummary[];
  alive: boolean;
  /** The worker and its model are still loading. */
  starting: boolean;
  /**
   * What is wrong while the loop still ticks, for health: its inference thread died (the loop sends the
   * safe action until it is restarted), its remote policy's link is not up, or a chunk is overdue. Undefined when
   * nothing is.
   */
  fault?: string;
  /** A remote policy's link, round trips and failures; absent for a policy run here. */
  remote?: RemoteStatus;
}

/** Crashes of an autostart loop by the thread that died (kept across its restarts). */
export type CrashCounts = Record<LoopCrash['thread'], number>;

/** A loop's figures plus what the component adds: crashes by thread, the last one's cause, restarts after them. */
export type ComponentLoopStats = ControlLoopStats & {
  restarts: number;
  crashes: CrashCounts;
  lastCrash?: string;
  /** An autostart loop held since the operator's stop was released, until an operator starts it: why, what to run. */
  waiting?: string;
};
