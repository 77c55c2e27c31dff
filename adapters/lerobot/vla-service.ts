import type { Bus } from '../../daemon/bus/bus.ts';
import type { QueryPayload } from '../../daemon/bus/types.ts';
import { PolicyInputError, type PolicyRunner } from './policy-runner.ts';
import { decodeTensors, encodeError, encodeTensors, TENSOR_ENCODING, TensorCodecError } from './tensor-codec.ts';

export const VLA_QUERY_PREFIX = 'ai/inference/vla/';

export interface VlaServiceStats {
  queries: number;
  errors: number;
  /** Error replies by code. */
  errorsByCode: Record<string, number>;
}

/**
 * Serves `ai/inference/vla/<policy>` on the bus: one observation in, the policy's outputs (an action
 * chunk) out, in the tensor encoding of tensor-codec.ts. Each query is stateless: recurrent inputs come
 * from the request or start at zero. Bad input gets an error reply, never an exception that could reach
 * the bus's caller as a crash, and queries run one at a time because a session run is not reentrant.
 */
export class VlaService {
  readonly name: string;
  readonly stats: VlaServiceStats = { queries: 0, errors: 0, errorsByCode: {} };
  #runner: PolicyRunner;
  #stop: () => void;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(bus: Bus, runner: PolicyRunner) {
    this.#runner = runner;
    this.name = `${VLA_QUERY_PREFIX}${runner.spec.name}`;
    this.#stop = bus.serve(this.name, (request) => {
      const reply = this.#tail.then(() => this.handle(request));
      this.#tail = reply;
      return reply;
    });
  }

  /** Answers one request; never throws. */
  async handle(request: QueryPayload): Promise<QueryPayload> {
    this.stats.queries++;
    const policy = this.#runner.spec.name;
    if (request.encoding !== TENSOR_ENCODING) {
      return this.#error('bad_encoding', `query ${this.name} takes encoding ${TENSOR_ENCODING}, got ${JSON.stringify(request.encoding)}`);
    }
    try {
      const { tensors, fields } = decodeTensors(request.payload);
      const inputs: Record<string, Float32Array> = {};
      for (const t of tensors) {
        if (t.name in inputs) return this.#error('bad_payload', `tensor "${t.name}" appears twice`);
        inputs[t.name] = t.data;
      }
      this.#runner.reset();
      const started = performance.now();
      const outputs = await this.#runner.run(inputs);
      const inferenceUs = Math.round((performance.now() - started) * 1000);
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
    return { encoding: TENSOR_ENCODING, payload: encodeError(code, message, { policy: this.#runner.spec.name }) };
  }

  close(): void {
    this.#stop();
  }
}
