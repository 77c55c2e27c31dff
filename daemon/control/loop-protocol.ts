import type { ResolvedType } from '../bus/definitions.ts';
import type { LoopSettings, PolicySettings } from '../config/sections/system1.ts';
import type { VelocityLimits } from './command-safety.ts';

/** What a loop worker gets at start (structured-cloned; the buffers are shared). */
export interface LoopWorkerData {
  name: string;
  policyName: string;
  policy: PolicySettings;
  loop: LoopSettings;
  /** policy.velocity: a Twist command on its topic is clamped to these limits. */
  velocity: VelocityLimits;
  stateBuffer: SharedArrayBuffer;
  boardBuffer: SharedArrayBuffer;
  boardLengths: number[];
  /** Definitions of the command type (root first), for encoding CDR in the worker; absent: no command. */
  commandDefinitions: ResolvedType['definitions'] | undefined;
}

/** Messages from a loop worker to the main thread. */
export type LoopWorkerMessage =
  | { kind: 'ready'; mode: string; chunkSize: number; dim: number; tid: number; scheduling: string }
  | { kind: 'fatal'; message: string }
  /** CDR bytes of the command to publish; `values` is the action it carries. */
  | { kind: 'command'; data: Uint8Array; values: Float32Array; safe: boolean }
  | { kind: 'stale'; topic: string; ageMs: number | null; limitMs: number }
  | { kind: 'fresh'; topic: string }
  | { kind: 'error'; message: string; count: number }
  /** A policy action with a NaN or infinite element was replaced by the safe action (the first few, then 1 in 100). */
  | { kind: 'non_finite'; values: number[]; count: number }
  | { kind: 'stopped' };

/** Messages between a loop worker and its inference worker (async chunking). */
/** An observation to run, or `close`: finish the run in flight, release the session and exit. */
export type InferenceRequest = { timestep: number; inputs: Record<string, Float32Array> } | { close: true };
export type InferenceReply =
  | { kind: 'ready' }
  | { kind: 'fatal'; message: string }
  | { kind: 'chunk'; timestep: number; data: Float32Array; dim: number; inferenceUs: number }
  | { kind: 'error'; timestep: number; message: string };
