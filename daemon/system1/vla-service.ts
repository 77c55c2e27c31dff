import type { Bus } from '../bus/index.ts';
import type { QueryPayload } from '../bus/index.ts';
import { errorText } from '../util/index.ts';
import { PolicyInputError, type StepInputs } from './policy-runner.ts';
import type { InputSpec } from './policy-spec.ts';
import type { PolicyExecutor } from './policy-thread.ts';
import { decodeQueryFrame } from './query-frame.ts';
import type { Frame } from './vision/frame.ts';
import type { DecodePool } from './vision/decode-pool.ts';
import { FrameDecoder } from './vision/frame-decoder.ts';
import { ImageError } from './vision/image-decode.ts';
import type { ImageInputSpec } from './vision/image-input.ts';
import {
  decodeTensors,
  encodeError,
  encodeTensors,
  imageFromJson,
  type NamedTensor,
  quoted,
  TENSOR_ENCODING,
  TensorCodecError,
  type TensorImage,
  tensorFromJson,
  tensorToJson,
  withoutLeadingOnes,
} from '../contract/index.ts';

export const VLA_QUERY_PREFIX = 'ai/inference/vla/';
/** The other request encoding: `{"<input name>": number or nested lists}`, answered in JSON (see handle). */
const JSON_ENCODING = 'application/json';

export interface VlaServiceStats {
  queries: number;
  errors: number;
  /** Error replies by code. */
  errorsByCode: Record<string, number>;
}

/** A query's observation, checked: tensors as the model takes them, and encoded frames to decode in its turn. */
interface Observation {
  inputs: Record<string, Float32Array | Uint8Array>;
  frames: { name: string; input: ImageInputSpec; image: TensorImage; data: Uint8Array }[];
  fields: Record<string, unknown>;
}

export interface VlaServiceOptions {
  /** Queries in flight or waiting; past it a query gets a `busy` reply at once. policies.<name>.max_pending_queries. */
  maxPending?: number;
  /** The daemon's decode processes, which the image inputs' frames share; without them, a process per input. */
  decodePool?: DecodePool;
}

/**
 * Serves `ai/inference/vla/<policy>` on the bus: one observation in, the policy's outputs (an action
 * chunk) out, in the tensor encoding of tensor-codec.ts. Each query is stateless. Bad input gets an error
 * reply, never an exception that could reach the bus's caller as a crash. Queries run one at a time (a
 * session run is not reentrant) and at most `maxPending` wait: a burst gets `busy` replies rather than
 * a queue that answers long after its callers gave up; a query whose caller's timeout passed while it
 * waited is dropped without running the model.
 *
 * An image input takes a frame in the model's layout (float32 in [0, 1], or uint8 for a uint8 input), or an
 * encoded one (tensor-codec.ts: a raw sensor_msgs/msg/Image's bytes, or JPEG or PNG), which is decoded and resized
 * to the input as a camera's frames are (query-frame.ts), in the query's turn: each image input's frames in a decode
 * process of its own (FrameDecoder), within its decode_timeout_ms, never on the libuv threads the daemon's file I/O
 * shares; one query's frames at a time keeps the memory a decode takes to what one query needs, and a query whose
 * caller gave up is not decoded either.
 *
 * A request may also come as JSON (what `POST /inference/vla/:policy` forwards from `{"input": ...}`), so
 * that a policy can be tried with curl: `{"obs": [0.1, ...]}`, each input a number or nested lists, its
 * shape the nesting, or for an image input an object, a sensor_msgs/msg/Image or CompressedImage with its data in
 * base64. It gets the same checks and is answered in JSON:
 * `{policy, chunk, inference_us, outputs: {<name>: {shape, data: nested lists}}}`, or `{policy, error}`.
 */
export class VlaService {
  readonly name: string;
  readonly stats: VlaServiceStats = { queries: 0, errors: 0, errorsByCode: {} };
  #policy: PolicyExecutor;
  /** The model's inputs by name, with the key of the shape a query's tensor must have (leading 1s aside). */
  #inputSpecs: Map<string, { spec: InputSpec; key: string }>;
  #maxPending: number;
  #pending = 0;
  #stop: () => void;
  #tail: Promise<unknown> = Promise.resolve();
  /** Each image input's decode process, made with its first frame. */
  #decoders = new Map<string, FrameDecoder>();
  readonly #decodePool: DecodePool | undefined;

  constructor(bus: Bus, policy: PolicyExecutor, options: VlaServiceOptions = {}) {
    const { maxPending = policy.spec.settings.max_pending_queries, decodePool } = options;
    this.#decodePool = decodePool;
    this.#policy = policy;
    this.#inputSpecs = new Map(
      policy.spec.inputs.map((i) => [i.name, { spec: i, key: withoutLeadingOnes(i.shape).join() }]),
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
    let observation: Observation;
    try {
      observation = this.#decode(json ? this.#fromJson(request.payload) : decodeTensors(request.payload));
    } catch (error) {
      if (error instanceof TensorCodecError || error instanceof PolicyInputError)
        return this.#error(error.code, error.message, json);
      // Decoding reads only the caller's bytes, so anything else it throws (a RangeError no check foresaw) is
      // still a bad request: thrown, it would reach the bus as handler_error and HTTP would blame upstream (502).
      return this.#error('bad_payload', `the request could not be decoded: ${quoted(errorText(error))}`, json);
    }
    if (this.#pending >= this.#maxPending) {
      return this.#error(
        'busy',
        `policy ${policy} is busy: ${this.#pending} queries in flight or waiting, the most policies.${policy}.max_pending_queries allows; try again later`,
        json,
      );
    }
    this.#pending++;
    const turn = this.#tail.then(() => this.#run(observation, signal, json));
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
      throw new TensorCodecError('bad_payload', `the JSON request does not parse: ${errorText(error)}`);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      const names = [...this.#inputSpecs.keys()];
      throw new TensorCodecError(
        'bad_payload',
        `the JSON request must be an object of inputs by name, e.g. {"${names[0] ?? 'obs'}": [...]}; got ${Array.isArray(body) ? 'a list' : quoted(body)}`,
      );
    }
    const tensors = Object.entries(body).map(([name, value]): NamedTensor => {
      const { spec } = this.#inputOf(name);
      if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
        if (!spec.image) throw this.#notImage(spec);
        return imageFromJson(name, value as Record<string, unknown>);
      }
      const t = tensorFromJson(name, value, spec.shape);
      return spec.dtype === 'uint8' ? { ...t, data: bytesOf(name, t.data) } : t;
    });
    return { tensors, fields: {} };
  }

  #decode({ tensors, fields }: { tensors: NamedTensor[]; fields: Record<string, unknown> }): Observation {
    const policy = this.#policy.spec.name;
    // No prototype: a tensor named __proto__ or toString is just a name (and an unknown input).
    const inputs = Object.create(null) as Observation['inputs'];
    const frames: Observation['frames'] = [];
    const seen = new Set<string>();
    for (const t of tensors) {
      if (seen.has(t.name)) throw new TensorCodecError('bad_payload', `tensor ${quoted(t.name)} appears twice`);
      seen.add(t.name);
      const { spec, key } = this.#inputOf(t.name);
      if (t.image) {
        if (!spec.image) throw this.#notImage(spec);
        frames.push({ name: t.name, input: spec.image, image: t.image, data: t.data });
        continue;
      }
      // The runner checks the element count; a transposed or reshaped tensor has the right count and the wrong meaning.
      if (withoutLeadingOnes(t.shape).join() !== key) {
        throw new PolicyInputError(
          'bad_shape',
          `policy ${policy}: input ${quoted(t.name)} has shape ${quoted(t.shape)}; the model takes ${JSON.stringify(spec.shape)}`,
        );
      }
      inputs[t.name] = t.data;
    }
    return { inputs, frames, fields };
  }

  #notImage(spec: InputSpec): TensorCodecError {
    return new TensorCodecError(
      'bad_image',
      `policy ${this.#policy.spec.name}: input ${quoted(spec.name)} is not an image input; it takes ${spec.dtype} ${JSON.stringify(spec.shape)}`,
    );
  }

  /**
   * The query's inputs with its encoded frames decoded, each input in its decode process. All of them are
   * waited for, so that no decode of this query is still running when the next one's begin.
   */
  async #withFrames({ inputs, frames }: Observation): Promise<StepInputs> {
    if (frames.length === 0) return inputs;
    const decoded = await Promise.allSettled(
      frames.map((f) => decodeQueryFrame(f.name, f.input, f.image, f.data, this.#decoderOf(f.name, f.input))),
    );
    const step: Record<string, Float32Array | Uint8Array | Frame> = Object.assign(Object.create(null), inputs);
    for (const [i, d] of decoded.entries()) {
      if (d.status === 'rejected') throw d.reason;
      step[frames[i]!.name] = d.value;
    }
    return step;
  }

  #decoderOf(name: string, input: ImageInputSpec): FrameDecoder {
    let decoder = this.#decoders.get(name);
    if (!decoder) {
      const { decode_timeout_ms: timeoutMs } = input.settings;
      decoder = new FrameDecoder({
        name: `policy ${this.#policy.spec.name} input ${quoted(name)}`,
        timeoutMs,
        pool: this.#decodePool,
      });
      this.#decoders.set(name, decoder);
    }
    return decoder;
  }

  /**
   * The model's input of that name. The runner refuses unknown names too, but here, before a JSON input is
   * decoded without a shape to hold it to, and with the name quoted short (a key can be a megabyte).
   */
  #inputOf(name: string): { spec: InputSpec; key: string } {
    const spec = this.#inputSpecs.get(name);
    if (!spec)
      throw new PolicyInputError(
        'unknown_input',
        `policy ${this.#policy.spec.name} has no input ${quoted(name)} (inputs: ${[...this.#inputSpecs.keys()].join(', ')})`,
      );
    return spec;
  }

  async #run(observation: Observation, signal: AbortSignal | undefined, json: boolean): Promise<QueryPayload> {
    const { fields } = observation;
    const policy = this.#policy.spec.name;
    if (signal?.aborted)
      return this.#error(
        'timeout',
        `policy ${policy}: the caller's timeout passed while the query waited; the model was not run`,
        json,
      );
    try {
      const inputs = await this.#withFrames(observation);
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
      if (error instanceof ImageError) return this.#error(error.code, `policy ${policy}: ${error.message}`, json);
      return this.#error('inference_failed', `policy ${policy}: ${errorText(error)}`, json);
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

  /** Stops serving; resolves once its image inputs' decoders are closed (their own processes, if any, exited). */
  async close(): Promise<void> {
    this.#stop();
    const decoders = [...this.#decoders.values()];
    this.#decoders.clear();
    await Promise.all(decoders.map((d) => d.close()));
  }
}

/** A JSON tensor for a uint8 input: whole numbers from 0 to 255, as the frame's bytes. */
function bytesOf(name: string, values: Float32Array | Uint8Array): Uint8Array {
  const i = values.findIndex((v) => !Number.isInteger(v) || v < 0 || v > 255);
  if (i >= 0)
    throw new PolicyInputError(
      'bad_dtype',
      `input ${quoted(name)} is uint8: element ${i} is ${values[i]}; send whole numbers from 0 to 255`,
    );
  return Uint8Array.from(values);
}
