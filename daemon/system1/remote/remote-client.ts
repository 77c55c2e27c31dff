import type { PolicyInputs } from '../policy-runner.ts';
import type { WireTensor } from './chunk-check.ts';
import type { RemoteState } from './remote-status.ts';

/** What a loop's remote policy is asked through: an openpi server's websocket, or the daemon's Zenoh link. */
export interface RemoteClient {
  /** Where, as status prints it: `openpi ws://...`, `zenoh ai/inference/vla/act`. */
  readonly endpoint: string;
  readonly state: RemoteState;
  /** Why it is in its state (the last loss, while down). */
  readonly reason: string;
  /** Sessions opened. */
  readonly connects: number;
  /** How long until a request may go out again, while it is not up; 0 when it may now. */
  retryInMs(): number;
  /** Starts connecting (when it connects at all); `onState` is called at each change of state. */
  start(onState: () => void): void;
  /**
   * One observation out (the loop's inputs, flat, and its timestep), its action chunk back as the wire carried it;
   * rejects with a RemoteFailed. `signal` aborts when the request's time is up: the client lets go of it.
   */
  infer(inputs: PolicyInputs, timestep: number, signal: AbortSignal): Promise<WireTensor & { serverMs?: number }>;
  close(): Promise<void>;
}
