import type { Bus } from '../../daemon/bus/index.ts';
import type { QueryPayload } from '../../daemon/bus/index.ts';
import { PolicyInputError } from './policy-runner.ts';
import type { PolicyExecutor } from './policy-thread.ts';
import {
  decodeTensors,
  encodeError,
  encodeTensors,
  type NamedTensor,
  quoted,
  TENSOR_ENCODING,
  TensorCodecError,
  tensorFromJson,
  tensorToJson,
  withoutLeadingOnes,
} from '../../daemon/contract/index.ts';

export const VLA_QUERY_PREFIX = 'ai/inference/vla/';
/** The other request encoding: `{"<input name>": number or nested lists}`, answered in JSON (see handle). */
const JSON_ENCODING = 'application/json';

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

/**
 * Serves `ai/inference/vla/<policy>` on the bus: one observation in, the policy's outputs (an action
 * chunk) out, in the tensor encoding of tensor-codec.ts. Each query is stateless. Bad input gets an error
 * reply, never an exception that could reach the bus's caller as a crash. Queries run one at a time (a
 * session run is not reentrant) and at most `maxPending` wait: a burst gets `busy` replies rather than
 * a queue that answers long after its callers gave up; a query whose caller's timeout passed while it
 * waited is dropped without running the model.
 *
 * A request may also come as JSON (what `POST /inference/vla/:policy` forwards from `{"input": ...}`), so
 * that a policy can be tried with curl: `{"obs": [0.1, ...]}`, each input a number or nested lists, its
 * shape the nesting. It gets the same checks and is answered in JSON:
 * `{policy, chunk, inference_us, outputs: {<name>: {shape, data: nested lists}}}`, or `{policy, error}`.
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
    this.#inputShapes = new Map(
      policy.spec.inputs.map((i) => [i.name, { shape: i.shape, key: withoutLeadingOnes(i.shape).join() }]),
    );
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
    const json = request.encoding === JSON_ENCODING;
    if (!json && request.encoding !== TENSOR_ENCODING) {
      return this.#error(
        'bad_encoding',
        `query ${this.name} takes encoding ${TENSOR_ENCODING} or ${JSON_ENCODING}, got ${quoted(request.encoding)}`,
        false,
      );
    }
    let inputs: Record<string, Float32Array>;
    let fields: Record<string, unknown>;
    try {
      ({ inputs, fields } = this.#decode(json ? this.#fromJson(request.payload) : decodeTensors(request.payload)));
    } catch (error) {
      if (error instanceof TensorCodecError || error instanceof PolicyInputError)
        return this.#error(error.code, error.message, json);
      // Decoding reads only the caller's bytes, so anything else it throws (a RangeError no check foresaw) is
      // still a bad request: thrown, it would reach the bus as handler_error and HTTP would blame upstream (502).
      return this.#error(
        'bad_payload',
        `the request could not be decoded: ${quoted(error instanceof Error ? error.message : String(error))}`,
        json,
      );
    }
    if (this.#pending >= this.#maxPending) {
      return this.#error(
        'busy',
        `policy ${policy} is busy: ${this.#pending} queries in flight or waiting, the most policies.${policy}.max_pending_queries allows; try again later`,
        json,
      );
    }
    this.#pending++;
    const turn = this.#tail.then(() => this.#run(inputs, fields, signal, json));
    this.#tail = turn;
    try {
      return await turn;
    } finally {
      this.#pending--;
    }
  }

  /** A JSON request as tensors: each key an input, each value a number or nested lists of them. */
  #fromJson(payload: Uint8Array): { tensors: NamedTensor[]; fields: Record<string, unknown> } {
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(payload));
    } catch (error) {
      throw new TensorCodecError('bad_payload', `the JSON request does not parse: ${(error as Error).message}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      const names = [...this.#inputShapes.keys()];
      throw new TensorCodecError(
        'bad_payload',
        `the JSON request must be an object of inputs by name, e.g. {"${names[0] ?? 'obs'}": [...]}; got ${Array.isArray(body) ? 'a list' : quoted(body)}`,
      );
    }
    return {
      tensors: Object.entries(body).map(([name, value]) => tensorFromJson(name, value, this.#inputOf(name).shape)),
      fields: {},
    };
  }

  #decode({ tensors, fields }: { tensors: NamedTensor[]; fields: Record<string, unknown> }): {
    inputs: Record<string, Float32Array>;
    fields: Record<string, unknown>;
  } {
    const policy = this.#policy.spec.name;
    // No prototype: a tensor named __proto__ or toString is just a name (and an unknown input).
    const inputs: Record<string, Float32Array> = Object.create(null) as Record<string, Float32Array>;
    for (const t of tensors) {
      if (Object.hasOwn(inputs, t.name))
        throw new TensorCodecError('bad_payload', `tensor ${quoted(t.name)} appears twice`);
      const spec = this.#inputOf(t.name);
      // The runner checks the element count; a transposed or reshaped tensor has the right count and the wrong meaning.
      if (withoutLeadingOnes(t.shape).join() !== spec.key) {
        throw new PolicyInputError(
          'bad_shape',
          `policy ${policy}: input ${quoted(t.name)} has shape ${quoted(t.shape)}; the model takes ${JSON.stringify(spec.shape)}`,
        );
      }
      inputs[t.name] = t.data;
    }
    return { inputs, fields };
  }

  /**
   * The model's input of that name. The runner refuses unknown names too, but here, before a JSON input is
   * decoded without a shape to hold it to, and with the name quoted short (a key can be a megabyte).
   */
  #inputOf(name: string): { shape: readonly number[]; key: string } {
    const spec = this.#inputShapes.get(name);
    if (!spec)
      throw new PolicyInputError(
        'unknown_input',
        `policy ${this.#policy.spec.name} has no input ${quoted(name)} (inputs: ${[...this.#inputShapes.keys()].join(', ')})`,
      );
    return spec;
  }

  async #run(
    inputs: Record<string, Float32Array>,
    fields: Record<string, unknown>,
    signal: AbortSignal | undefined,
    json: boolean,
  ): Promise<QueryPayload> {
    const policy = this.#policy.spec.name;
    if (signal?.aborted)
      return this.#error(
        'timeout',
        `policy ${policy}: the caller's timeout passed while the query waited; the model was not run`,
        json,
      );
    try {
      this.#policy.reset?.();
      const started = performance.now();
      const outputs = await this.#policy.run(inputs);
      const inferenceUs = Math.round((performance.now() - started) * 1000);
      for (const [name, o] of Object.entries(outputs)) {
        const i = o.data.findIndex((v) => !Number.isFinite(v));
        // The safety frame covers loops only: a caller driving a robot from this reply must never get NaN.
        if (i >= 0)
          return this.#error(
            'non_finite_output',
            `policy ${policy}: output "${name}" element ${i} is ${o.data[i]}; no outputs returned`,
            json,
          );
      }
      const action = Object.values(outputs)[0];
      const reply: Record<string, unknown> = { policy, chunk: action?.chunk ?? 1, inference_us: inferenceUs };
      if (typeof fields.timestep === 'number') reply.timestep = fields.timestep;
      const tensors = Object.entries(outputs).map(([name, o]) => ({ name, shape: o.shape, data: o.data }));
      if (json) {
        const named = Object.fromEntries(tensors.map((t) => [t.name, { shape: t.shape, data: tensorToJson(t) }]));
        return {
          encoding: JSON_ENCODING,
          payload: new TextEncoder().encode(JSON.stringify({ ...reply, outputs: named })),
        };
      }
      return { encoding: TENSOR_ENCODING, payload: encodeTensors(tensors, reply) };
    } catch (error) {
      if (error instanceof TensorCodecError || error instanceof PolicyInputError)
        return this.#error(error.code, error.message, json);
      return this.#error('inference_failed', `policy ${policy}: ${(error as Error).message}`, json);
    }
  }

  /** An error reply, in the encoding the request came in. */
  #error(code: string, message: string, json: boolean): QueryPayload {
    this.stats.errors++;
    this.stats.errorsByCode[code] = (this.stats.errorsByCode[code] ?? 0) + 1;
    const policy = this.#policy.spec.name;
    if (json)
      return {
        encoding: JSON_ENCODING,
        payload: new TextEncoder().encode(JSON.stringify({ policy, error: { code, message } })),
      };
    return { encoding: TENSOR_ENCODING, payload: encodeError(code, message, { policy }) };
  }

  close(): void {
    this.#stop();
  }
}
