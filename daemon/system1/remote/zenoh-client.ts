import type { MessagePort } from 'node:worker_threads';
import type { PolicySettings } from '../../config/index.ts';
import {
  decodeTensors,
  encodeTensors,
  TENSOR_ENCODING,
  TensorCodecError,
  type GraphQueries,
} from '../../contract/index.ts';
import { clipText, errorText } from '../../util/index.ts';
import type { PolicyInputs } from '../policy-runner.ts';
import { RemoteFailed, type WireTensor } from './chunk-check.ts';
import { declaredChunk, declaredShapes } from './remote-settings.ts';
import type { RemoteClient } from './remote-client.ts';
import { RemoteInference } from './remote-inference.ts';
import type { RemoteState } from './remote-status.ts';

/** How often a loop asks again while the Zenoh link is down: the link reconnects on its own schedule. */
const DOWN_POLL_MS = 500;

export interface ZenohPolicyClientOptions {
  /** ai/inference/vla/<policy> of the daemon that serves it. */
  key: string;
  /** The Zenoh link's queries, as they are now (the Zenoh component may be restarting, or off). */
  queries: () => GraphQueries | undefined;
  shapes: ReadonlyMap<string, readonly number[]>;
  output: string;
  timeoutMs: number;
  maxReplyBytes: number;
}

/**
 * Another daemon's served policy, asked over this daemon's Zenoh link: the observation goes out in the tensor encoding
 * of `ai/inference/vla` (tensor-codec.ts) with its timestep, and the reply must carry that timestep back, so a late
 * reply to an earlier query is never taken for this one. The link is the Zenoh component's, which reconnects itself.
 */
export class ZenohPolicyClient implements RemoteClient {
  readonly endpoint: string;
  readonly connects = 0;
  readonly #options: ZenohPolicyClientOptions;

  constructor(options: ZenohPolicyClientOptions) {
    this.#options = options;
    this.endpoint = `zenoh ${options.key}`;
  }

  get state(): RemoteState {
    return this.#down() === undefined ? 'up' : 'down';
  }

  get reason(): string {
    return this.#down() ?? 'up';
  }

  retryInMs(): number {
    return this.#down() === undefined ? 0 : DOWN_POLL_MS;
  }

  start(): void {
    // The link is the Zenoh component's: nothing to open here.
  }

  async infer(inputs: PolicyInputs, timestep: number): Promise<WireTensor> {
    const { key, queries, shapes, output, timeoutMs, maxReplyBytes } = this.#options;
    const link = queries();
    if (!link) throw new RemoteFailed('unreachable', this.#down()!);
    const tensors = Object.entries(inputs).map(([name, data]) => ({ name, shape: [...shapes.get(name)!], data }));
    let reply;
    try {
      reply = await link.query(
        key,
        { encoding: TENSOR_ENCODING, payload: encodeTensors(tensors, { timestep }) },
        { timeoutMs },
      );
    } catch (error) {
      const down = link.down();
      throw new RemoteFailed(down ? 'unreachable' : 'server_error', clipText(down ?? errorText(error), 300));
    }
    if (reply === undefined)
      throw new RemoteFailed('unreachable', `nothing on the graph answered ${key} within ${timeoutMs} ms`);
    if (reply.payload.byteLength > maxReplyBytes)
      throw new RemoteFailed(
        'too_large',
        `a reply of ${reply.payload.byteLength} bytes, over remote.max_reply_bytes (${maxReplyBytes})`,
      );
    if (reply.encoding !== TENSOR_ENCODING)
      throw new RemoteFailed('malformed', `a reply in ${clipText(reply.encoding, 60)}, not ${TENSOR_ENCODING}`);
    let decoded;
    try {
      decoded = decodeTensors(reply.payload);
    } catch (error) {
      if (error instanceof TensorCodecError) throw new RemoteFailed('malformed', error.message);
      throw error;
    }
    const { tensors: got, fields } = decoded;
    const failure = fields.error as { code?: unknown; message?: unknown } | undefined;
    if (failure !== undefined)
      throw new RemoteFailed('server_error', clipText(`${String(failure.code)}: ${String(failure.message)}`, 300));
    if (fields.timestep !== timestep)
      throw new RemoteFailed(
        'malformed',
        `a reply for timestep ${clipText(String(fields.timestep), 20)}, not the observation's ${timestep}`,
      );
    const tensor = got.find((t) => t.name === output);
    if (!tensor)
      throw new RemoteFailed(
        'malformed',
        `the reply has no output ${JSON.stringify(output)} (outputs: ${got.map((t) => clipText(t.name, 40)).join(', ') || 'none'})`,
      );
    const { data } = tensor;
    return {
      dtype: data instanceof Float32Array ? 'float32' : 'uint8',
      shape: tensor.shape,
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    };
  }

  async close(): Promise<void> {
    // Nothing of its own to close: the link is the Zenoh component's.
  }

  #down(): string | undefined {
    const link = this.#options.queries();
    if (!link) return "the Zenoh link is not running (zenoh.enabled, or the component's state in status)";
    return link.down();
  }
}

/**
 * A loop's inference side for a policy served over Zenoh, on the daemon's main thread where the Zenoh link lives: the
 * loop thread's channel is served there as an inference thread would serve it.
 */
export function zenohInference(options: {
  policyName: string;
  policy: PolicySettings;
  output: string;
  port: MessagePort;
  queries: () => GraphQueries | undefined;
}): RemoteInference {
  const { policyName, policy, output, port, queries } = options;
  const remote = policy.remote!;
  return new RemoteInference({
    port,
    client: new ZenohPolicyClient({
      key: remote.zenoh!,
      queries,
      shapes: declaredShapes(policy),
      output,
      timeoutMs: remote.timeout_ms,
      maxReplyBytes: remote.max_reply_bytes,
    }),
    chunk: declaredChunk(policyName, policy, output),
    timeoutMs: remote.timeout_ms,
  });
}
