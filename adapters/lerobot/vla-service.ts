import type { Bus } from '../../daemon/bus/bus.ts';
import type { QueryPayload } from '../../daemon/bus/types.ts';
import { PolicyInputError } from './policy-runner.ts';
import type { PolicyExecutor } from './policy-thread.ts';
import { decodeTensors, encodeError, encodeTensors, TENSOR_ENCODING, TensorCodecError } from './tensor-codec.ts';

export const VLA_QUERY_PREFIX = 'ai/inference/vla/';

export interface VlaServiceStats {
  queries: number;
  errors: number;
  /** Error replies by code. */
  errorsByCode: Record<string, number>;
}

export interface VlaServiceOptions {
  /** Queries in flight or waiting; past it a query gets a `busy` reply at once. policies.<name>.max_pending_queries. */
  maxPending?: number;
}

/** Leading 1s dropped: [1, 13] and [13] are one shape (a missing batch dimension); [13, 1] is another. */
const withoutLeadingOnes = (shape: readonly number[]): number[] => {
  let i = 0;
  while (i < shape.length && shape[i] === 1) i++;
  return shape.slice(i);
};

/**
 * Serves `ai/inference/vla/<policy>` on the bus: one observation in, the policy's outputs (an action
 * chunk) out, in the tensor encoding of tensor-codec.ts. Each query is stateless. Bad input gets an error
 * reply, never an exception that could reach the bus's caller as a crash. Queries run one at a time (a
 * session run is not reentrant) and at most `maxPending` wait: a burst gets `busy` replies rather than
 * a queue that answers long after its callers gave up; a query whose caller's timeout passed while it
 * waited is dropped without running the model.
 */
export class VlaService {
  readonly name: string;
  readonly stats: VlaServiceStats = { queries: 0, errors: 0, errorsByCode: {} };
  #policy: PolicyExecutor;
  /** The model's inputs by name, with the shape a query's tensor must have (leading 1s aside). */
  #inputShapes: Map<string, { shape: readonly number[]; key: string }>;
  #maxPending: number;
  #pending = 0;
  #stop: () => void;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(bus: Bus, policy: PolicyExecutor, options: VlaServiceOptions = {}) {
    const { maxPending = policy.spec.settings.max_pending_queries } = options;
    this.#policy = policy;
    this.#inputShapes = new Map(policy.spec.inputs.map((i) => [i.name, { shape: i.shape, key: withoutLeadingOnes(i.shape).join() }]));
    this.#maxPending = maxPending;
    this.name = `${VLA_QUERY_PREFIX}${policy.spec.name}`;
    this.#stop = bus.serve(this.name, (request, signal) => this.handle(request, signal));
  }

  /** Queries in flight or waiting now. */
  get pending(): number {
    return this.#pending;
  }

  /** Answers one request; never throws. `signal` aborts when the caller stops waiting. */
  async handle(request: QueryPayload, signal?: AbortSignal): Promise<QueryPayload> {
    this.stats.queries++;
    const policy = this.#policy.spec.name;
    if (request.encoding !== TENSOR_ENCODING) {
      return this.#error('bad_encoding', `query ${this.name} takes encoding ${TENSOR_ENCODING}, got ${JSON.stringify(request.encoding)}`);
    }
    let inputs: Record<string, Float32Array>;
    let fields: Record<string, unknown>;
    try {
      ({ inputs, fields } = this.#decode(request.payload));
    } catch (error) {
      if (error instanceof TensorCodecError || error instanceof PolicyInputError) return this.#error(error.code, error.message);
      throw error;
    }
    if (this.#pending >= this.#maxPending) {
      return this.#error(
        'busy',
        `policy ${policy} is busy: ${this.#pending} queries in flight or waiting, the most policies.${policy}.max_pending_queries allows; try again later`,
      );
    }
    this.#pending++;
    const turn = this.#tail.then(() => this.#run(inputs, fields, signal));
    this.#tail = turn;
    try {
      return await turn;
    } finally {
      this.#pending--;
    }
  }

  #decode(payload: Uint8Array): { inputs: Record<string, Float32Array>; fields: Record<string, unknown> } {
    const { tensors, fields } = decodeTensors(payload);
    const policy = this.#policy.spec.name;
    // No prototype: a tensor named __proto__ or toString is just a name (and an unknown input).
    const inputs: Record<string, Float32Array> = Object.create(null) as Record<string, Float32Array>;
    for (const t of tensors) {
      if (Object.hasOwn(inputs, t.name)) throw new TensorCodecError('bad_payload', `tensor "${t.name}" appears twice`);
      const spec = this.#inputShapes.get(t.name);
      // The runner checks the element count; a transposed or reshaped tensor has the right count and the wrong meaning.
      if (spec && withoutLeadingOnes(t.shape).join() !== spec.key) {
        throw new PolicyInputError('bad_shape', `policy ${policy}: input "${t.name}" has shape ${JSON.stringify(t.shape)}; the model takes ${JSON.stringify(spec.shape)}`);
      }
      inputs[t.name] = t.data;
    }
    return { inputs, fields };
  }

  async #run(inputs: Record<string, Float32Array>, fields: Record<string, unknown>, signal: AbortSignal | undefined): Promise<QueryPayload> {
    const policy = this.#policy.spec.name;
    if (signal?.aborted) return this.#error('timeout', `policy ${policy}: the caller's timeout passed while the query waited; the model was not run`);
    try {
      this.#policy.reset?.();
      const started = performance.now();
      const outputs = await this.#policy.run(inputs);
      const inferenceUs = Math.round((performance.now() - started) * 1000);
      for (const [name, o] of Object.entries(outputs)) {
        const i = o.data.findIndex((v) => !Number.isFinite(v));
        // The safety frame covers loops only: a caller driving a robot from this reply must never get NaN.
        if (i >= 0) return this.#error('non_finite_output', `policy ${policy}: output "${name}" element ${i} is ${o.data[i]}; no outputs returned`);
      }
      const action = Object.values(outputs)[0];
      const reply: Record<string, unknown> = { policy, chunk: action?.chunk ?? 1, inference_us: inferenceUs };
      if (typeof fields.timestep === 'number') reply.timestep = fields.timestep;
      const payload = encodeTensors(
        Object.entries(outputs).map(([name, o]) => ({ name, shape: o.shape, data: o.data })),
        reply,
      );
      return { encoding: TENSOR_ENCODING, payload };
    } catch (error) {
      if (error instanceof TensorCodecError || error instanceof PolicyInputError) return this.#error(error.code, error.message);
      return this.#error('inference_failed', `policy ${policy}: ${(error as Error).message}`);
    }
  }

  #error(code: string, message: string): QueryPayload {
    this.stats.errors++;
    this.stats.errorsByCode[code] = (this.stats.errorsByCode[code] ?? 0) + 1;
    return { encoding: TENSOR_ENCODING, payload: encodeError(code, message, { policy: this.#policy.spec.name }) };
  }

  close(): void {
    this.#stop();
  }
}
