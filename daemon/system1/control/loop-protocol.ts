import type { MessagePort } from 'node:worker_threads';
import type { ResolvedType } from '../../bus/index.ts';
import type { LoopSettings, PolicySettings } from '../../config/index.ts';
import type { LoopJointLimits } from './arm-command.ts';
import type { VelocityLimits } from './command-safety.ts';
import type { LoopStateUpdate } from './loop-state.ts';
import type { PolicyInputs } from '../policy-runner.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';

/** What a loop worker gets at start (structured-cloned; the buffers are shared). */
export interface LoopWorkerData {
  name: string;
  policyName: string;
  policy: PolicySettings;
  loop: LoopSettings;
  /** motion.velocity: a Twist command on its topic is clamped to these limits. */
  velocity: VelocityLimits;
  /** motion.joints: a joint command (one that names its joints) is held to these limits. */
  joints?: LoopJointLimits;
  stateBuffer: SharedArrayBuffer;
  /** The daemon's stop line (HaltLine's buffer): read every tick; absent, only the main thread holds the loop. */
  haltLine?: SharedArrayBuffer;
  /** The observation board (ObservationBoard's buffer); absent: boardFile. */
  boardBuffer?: SharedArrayBuffer;
  /** A loop process's board: the file (board-file.ts) its loop thread maps in place of boardBuffer. */
  boardFile?: string;
  boardLengths: number[];
  /** The cameras' frame slots (FrameSlot buffers), in the order of LoopPlan.images. */
  frameBuffers: SharedArrayBuffer[];
  /** A loop process's cameras: frame files (frame-file.ts) the loop thread maps in place of frameBuffers. */
  frameFiles?: string[];
  /** A loop process's command pipe: its loop thread writes command records there (command-records.ts), not posts. */
  commandFd?: number;
  /** Topics the loop reads (LoopPlan.topics): the stale counters in the state buffer are per topic. */
  topicCount: number;
  /** Definitions of the command type (root first), for encoding CDR in the worker; absent: no command. */
  commandDefinitions: ResolvedType['definitions'] | undefined;
  /**
   * Async chunking: the port to the inference thread (transferred). The loop thread only polls it with
   * receiveMessageOnPort and never listens on it, so it never has to yield to its event loop for a chunk.
   */
  inference?: MessagePort;
  /** The window of the loop's log lines: one per problem, two per observation past its start (LoopReports). */
  logIntervalMs: number;
}

/** Messages from a loop worker to the main thread. */
export type LoopWorkerMessage =
  | { kind: 'ready'; mode: string; chunkSize: number; dim: number; tid: number; scheduling: string }
  | { kind: 'fatal'; message: string }
  /** CDR bytes of the command to publish; `values` is the action it carries. */
  | { kind: 'command'; data: Uint8Array; values: Float32Array; safe: boolean }
  /**
   * The lines below are throttled by LoopReports: `suppressed` says how many like it were held back since
   * the last one (stale and fresh: transitions of that observation), `count` how many there were in all.
   */
  | { kind: 'stale'; topic: string; ageMs: number | null; limitMs: number; suppressed?: number }
  | { kind: 'fresh'; topic: string; suppressed?: number }
  | { kind: 'error'; message: string; count: number; suppressed?: number }
  /** A policy action with a NaN or infinite element was replaced by the safe action. */
  | { kind: 'non_finite'; values: number[]; count: number; suppressed?: number }
  /** A chunk has been awaited past chunking.inference_timeout_ms (once per request). */
  | { kind: 'inference_overdue'; waitedMs: number; limitMs: number; count: number; suppressed?: number }
  /** A joint command outside motion.joints (its first violation): clamped into the limits, or refused. */
  | { kind: 'joint_limit'; violation: string; refused: boolean; count: number; suppressed?: number }
  /** A joint position command's hold found no fresh measured position of its joints, and sent nothing. */
  | { kind: 'hold_unmeasured'; topic: string; joints: string[]; count: number; suppressed?: number }
  /** An overdue chunk (or its error) came back after all. */
  | { kind: 'inference_late'; tookMs: number }
  | { kind: 'stopped' };

/** What a loop process gets at start: a worker's data less the buffers, which the process makes for itself. */
export type LoopProcessData = Omit<
  LoopWorkerData,
  'stateBuffer' | 'haltLine' | 'boardBuffer' | 'frameBuffers' | 'inference'
>;

/**
 * The daemon's main thread -> a loop process, over its fork channel (advanced serialization): control only;
 * observations, frames and commands cross through its folder's files and its command pipe.
 */
export type ToLoopProcess =
  /** The loop to run, and the stop relay's socket to hear the daemon's stop line on (absent: no stop line). */
  | { kind: 'start'; data: LoopProcessData; stopSocket?: string }
  | { kind: 'held'; held: boolean }
  /** An episode began: the loop drops the actions it planned in the one before (LoopState.beginEpisode). */
  | { kind: 'episode' }
  | { kind: 'stop' }
  /** Answered with `pong` at once: the fork channel's round trip, for the bench. */
  | { kind: 'ping'; id: number; values: Float32Array }
  /** A chunk (or its failure) for the loop thread, from a policy the daemon asks over Zenoh. */
  | { kind: 'inference_reply'; reply: InferenceReply };

/** A loop process -> the daemon's main thread: its loop thread's messages, and what the process adds. */
export type FromLoopProcess =
  | LoopWorkerMessage
  /** The loop's counters and new samples, every LOOP_STATE_INTERVAL_MS and before `ready` and `stopped`. */
  | { kind: 'state'; update: LoopStateUpdate }
  /** The async loop's inference thread (run by the loop process) died: the loop sends its safe action. */
  | { kind: 'inference_died'; message: string }
  /** Its remote policy's status changed (the inference thread's, relayed). */
  | { kind: 'remote'; status: RemoteStatus }
  /** The loop thread failed (an uncaught error); its exit, the process's, follows. */
  | { kind: 'thread_error'; message: string }
  /** An observation for a policy the daemon asks over Zenoh, which the process has no link to. */
  | { kind: 'inference_request'; request: InferenceRequest }
  | { kind: 'pong'; id: number };

/**
 * Async chunking: the main thread starts the inference thread (so it sees the thread die, and the loop
 * thread never waits for it) and hands it one end of a channel whose other end goes to the loop thread.
 */
export interface InferenceWorkerData {
  policyName: string;
  policy: PolicySettings;
  /** The output whose chunk goes back. */
  output: string;
  /** Observations in, chunks out: the loop thread's channel (transferred). */
  port: MessagePort;
}

/** Loop thread -> inference thread, over the channel: an observation to run. */
export interface InferenceRequest {
  timestep: number;
  inputs: PolicyInputs;
}

/** Inference thread -> loop thread, over the channel. */
export type InferenceReply =
  | { kind: 'chunk'; timestep: number; data: Float32Array; dim: number; inferenceUs: number }
  /** No chunk for this observation; `retryInMs`: a remote policy's link is not up, so ask again no sooner. */
  | { kind: 'error'; timestep: number; message: string; retryInMs?: number };

/** Main thread -> inference thread, over its parent port: finish the run in flight, release the session and exit. */
export interface InferenceClose {
  close: true;
}

/**
 * Inference thread -> main thread, over its parent port: the session loaded, or could not; and a remote policy's
 * status at each change.
 */
export type InferenceStatus =
  { kind: 'ready' } | { kind: 'fatal'; message: string } | { kind: 'remote'; status: RemoteStatus };
