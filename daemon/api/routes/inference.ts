import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import Type, { type Static } from 'typebox';
import { QueryError } from '../../bus/index.ts';
import type { QueryPayload } from '../../bus/index.ts';
import { ValidationError, Validator } from '../../util/index.ts';
import { isApiErrorCode, type ApiErrorCode } from '../error-codes.ts';
import { HttpError, validationHttpError } from '../errors.ts';
import type { RouteContext } from './route-context.ts';
import { decodeTensors, TENSOR_ENCODING } from '../../contract/index.ts';

const InferenceBody = Type.Object(
  {
    input: Type.Optional(Type.Unknown({ description: 'a JSON request, sent as application/json' })),
    payload_base64: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', description: 'raw request bytes (e.g. CDR), base64' }),
    ),
    encoding: Type.Optional(Type.String({ minLength: 1, maxLength: 128, description: 'encoding of payload_base64' })),
    timeout_ms: Type.Optional(Type.Integer({ minimum: 1, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
const Name = Type.String({ pattern: '^[A-Za-z0-9_.:-]+(/[A-Za-z0-9_.:-]+)*$', maxLength: 256 });
const VlaParams = Type.Object({ policy: Name }, { additionalProperties: false });
// A wildcard param is named `*`, which TypeBox cannot take as a property name: the name is checked in the handler.
const LlmParams = Type.Object(
  {},
  { additionalProperties: Type.String({ maxLength: 256 }), description: 'the model name: the rest of the path' },
);
const modelName = new Validator(Name);

const JSON_ENCODING = 'application/json';
/**
 * The codes of ai/inference/vla's error replies the daemon's own policies answer (vla-service.ts), each with its
 * status in the catalogue. A policy served by another program may answer a code of its own: passed on as a 400.
 */
const POLICY_CODES: ReadonlySet<ApiErrorCode> = new Set<ApiErrorCode>([
  ...(['bad_payload', 'bad_dtype', 'bad_shape', 'not_finite', 'bad_image'] as const), // TensorCodecError
  ...(['missing_input', 'unknown_input'] as const), // PolicyInputError
  ...(['bad_encoding', 'bad_size', 'too_large', 'decode_failed', 'over_budget', 'stale_stamp', 'bad_stamp'] as const), // ImageError
  ...(['busy', 'timeout', 'inference_failed', 'non_finite_output'] as const),
]);
/** What both inference routes answer when the query does not succeed. */
const INFERENCE_STATUSES = {
  502: '`handler_error` or the policy failed (`inference_failed`, `non_finite_output`)',
  503: '`no_queryable`: nothing serves the name; `busy`: the policy is busy',
  504: '`timeout`: past `api.inference.timeout_ms`',
};

/** The `name` label of inference calls nothing serves. */
export const UNKNOWN_NAME = 'unknown';

/**
 * POST /inference/vla/:policy and POST /inference/llm/:model: the bus queries `ai/inference/vla/<policy>` and
 * `ai/inference/llm/<model>` over HTTP (a model name may hold slashes: /inference/llm/Qwen/Qwen2.5-7B).
 * A JSON `input` travels as application/json; other encodings travel as base64 both ways. A VLA policy
 * takes `{"input": {"obs": [..]}}` (each input as nested lists) and answers its outputs as nested lists.
 */
export const inferenceRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, settings, metrics }) => {
  const handle = async (kind: 'vla' | 'llm', name: string, body: Static<typeof InferenceBody>, reply: FastifyReply) => {
    const request = toPayload(body);
    const timeoutMs = Math.min(body.timeout_ms ?? settings.inference.timeout_ms, settings.inference.timeout_ms);
    const started = performance.now();
    let outcome = 'ok';
    try {
      const answer = await ctx.bus.query(`ai/inference/${kind}/${name}`, request, { timeoutMs });
      const refused = kind === 'vla' ? vlaError(answer) : undefined;
      if (refused) {
        outcome = refused.code;
        const { code, message } = refused;
        throw isApiErrorCode(code) && POLICY_CODES.has(code)
          ? new HttpError(code, message)
          : HttpError.passedOn(400, code, message);
      }
      return reply.send({
        ...fromPayload(answer),
        elapsed_ms: Math.round((performance.now() - started) * 1000) / 1000,
      });
    } catch (error) {
      if (!(error instanceof QueryError)) throw error;
      outcome = error.code;
      throw new HttpError(error.code, error.message);
    } finally {
      // The name comes from the URL: it becomes a label only once a queryable answered to it, so a client
      // probing made-up names cannot add a histogram series per name (they share `unknown`).
      metrics.inference.observe(
        { kind, name: outcome === 'no_queryable' ? UNKNOWN_NAME : name, outcome },
        (performance.now() - started) / 1000,
      );
    }
  };
  app.post<{ Params: Static<typeof VlaParams>; Body: Static<typeof InferenceBody> }>(
    '/inference/vla/:policy',
    {
      schema: {
        params: VlaParams,
        body: InferenceBody,
        summary: 'Queries the VLA policy served at `ai/inference/vla/<policy>`.',
        description:
          'JSON input: `{"input": {"obs": [..]}}`, each input a number or nested lists checked against the model\'s ' +
          'shape (leading 1s may be left out), or for an image input a sensor_msgs Image or CompressedImage with ' +
          '`data` in base64 (docs/system1.md). Outputs come as nested lists.',
        reply: '{encoding, output: {outputs: {<name>: {shape, data}}, chunk, inference_us, ...}, elapsed_ms}',
        statuses: {
          ...INFERENCE_STATUSES,
          400: '`bad_shape`, `not_finite`, `bad_dtype`, `unknown_input`, `missing_input`, or a bad body',
        },
      },
    },
    async (request, reply) => handle('vla', request.params.policy, request.body, reply),
  );
  app.post<{ Params: Record<string, string | undefined>; Body: Static<typeof InferenceBody> }>(
    '/inference/llm/*',
    {
      schema: {
        params: LlmParams,
        body: InferenceBody,
        summary: 'Queries the LLM served at `ai/inference/llm/<model>`; the model name may hold slashes.',
        description: 'For example `/inference/llm/Qwen/Qwen2.5-7B`.',
        reply: '{encoding, output | payload_base64, elapsed_ms}',
        statuses: { ...INFERENCE_STATUSES, 400: 'a bad body or model name' },
      },
    },
    async (request, reply) => {
      const model = request.params['*'] ?? '';
      if (!modelName.check(model))
        throw validationHttpError(
          'params',
          new ValidationError(
            'params',
            modelName.issues(model).map((i) => ({ ...i, path: 'model' })),
          ),
        );
      return handle('llm', model, request.body, reply);
    },
  );
};

/** The error a VLA reply carries (`{"error": {code, message}}` in its tensor header or JSON body), if any. */
function vlaError(answer: QueryPayload): { code: string; message: string } | undefined {
  let fields: Record<string, unknown>;
  try {
    if (answer.encoding === TENSOR_ENCODING) ({ fields } = decodeTensors(answer.payload));
    else if (answer.encoding === JSON_ENCODING)
      fields = JSON.parse(new TextDecoder().decode(answer.payload)) as Record<string, unknown>;
    else return undefined;
  } catch {
    return undefined; // not ours to judge: the bytes go to the caller as they are
  }
  const error = fields?.error as { code?: unknown; message?: unknown } | undefined;
  if (!error || typeof error !== 'object') return undefined;
  return {
    code: typeof error.code === 'string' ? error.code : 'inference_failed',
    message: typeof error.message === 'string' ? error.message : 'the policy answered with an error',
  };
}

function toPayload(body: Static<typeof InferenceBody>): QueryPayload {
  const hasInput = body.input !== undefined;
  const hasBytes = body.payload_base64 !== undefined;
  if (hasInput === hasBytes) {
    const message = hasInput
      ? 'send either input or payload_base64, not both'
      : 'required: a JSON input, or payload_base64 with its encoding';
    throw new HttpError('bad_request', `body.input: ${message}`, [{ path: 'body.input', message }]);
  }
  if (hasInput) return { encoding: JSON_ENCODING, payload: new TextEncoder().encode(JSON.stringify(body.input)) };
  if (!body.encoding)
    throw new HttpError('bad_request', 'body.encoding: required with payload_base64', [
      { path: 'body.encoding', message: 'required with payload_base64' },
    ]);
  return { encoding: body.encoding, payload: Buffer.from(body.payload_base64!, 'base64') };
}

function fromPayload(answer: QueryPayload): { encoding: string; output?: unknown; payload_base64?: string } {
  if (/json/i.test(answer.encoding)) {
    try {
      return { encoding: answer.encoding, output: JSON.parse(new TextDecoder().decode(answer.payload)) };
    } catch {
      // Says JSON but is not: hand the bytes over as they are rather than fail the call.
    }
  }
  return { encoding: answer.encoding, payload_base64: Buffer.from(answer.payload).toString('base64') };
}
