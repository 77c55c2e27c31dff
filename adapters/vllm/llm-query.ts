import Type, { type TSchema } from 'typebox';
import { QueryError } from '../../daemon/bus/index.ts';
import type { QueryPayload } from '../../daemon/bus/index.ts';
import { errorText, jsonHazard } from '../../daemon/util/index.ts';
import { formatIssue, ValidationError, Validator } from '../../daemon/util/index.ts';
import { chatWithFallback, type ChatRequest } from './chat-client.ts';
import type { Endpoint } from './model.ts';
import type { ReplyLimits } from './reply-limits.ts';

/** Prefix of the bus queries System 2 serves: `ai/inference/llm/<endpoint>` and `ai/inference/llm/default`. */
export const LLM_QUERY_PREFIX = 'ai/inference/llm/';

/** Most messages a query's chat may hold. */
const MAX_MESSAGES = 256;

/** The query's request: a chat, as JSON (encoding `application/json`). */
export const LlmQueryRequest = Type.Object(
  {
    messages: Type.Array(
      Type.Object(
        {
          role: Type.Union([Type.Literal('system'), Type.Literal('user'), Type.Literal('assistant')]),
          content: Type.String(),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_MESSAGES },
    ),
    max_tokens: Type.Optional(
      Type.Integer({ minimum: 1, description: "capped at the endpoint's llm.endpoints[].max_tokens" }),
    ),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    response_schema: Type.Optional(
      Type.Object(
        { name: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), schema: Type.Record(Type.String(), Type.Unknown()) },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const requestValidator = new Validator(LlmQueryRequest);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * The bus query handler for one name: validates the request at the boundary, sends it down `endpoints`
 * (one endpoint, or the whole chain for `default`) and replies with the completion as JSON. A bad request
 * rejects with QueryError `bad_request` (the caller's fault: HTTP 400); a failure of the endpoints with a
 * plain Error, which the bus reports as `handler_error`.
 */
export function llmQueryHandler(endpoints: readonly Endpoint[], limits?: ReplyLimits) {
  return async (request: QueryPayload, signal: AbortSignal): Promise<QueryPayload> => {
    if (request.encoding !== 'application/json')
      throw new QueryError('bad_request', `llm query: expected encoding application/json, got ${request.encoding}`);
    let body: unknown;
    try {
      body = JSON.parse(decoder.decode(request.payload));
    } catch (error) {
      throw new QueryError('bad_request', `llm query: the request is not JSON: ${errorText(error)}`);
    }
    const chat = checkRequest(body);
    const reply = await chatWithFallback(endpoints, chat, signal, limits);
    return { encoding: 'application/json', payload: encoder.encode(JSON.stringify(reply)) };
  };
}

/**
 * The request as a chat, or a QueryError `bad_request` naming what is wrong, before any model is asked. Refused first,
 * as the HTTP API refuses them in any body: nesting past 64 levels (sending the request or compiling its schema
 * recurses, and 100k levels overflow the stack), a non-finite number, a `__proto__` key. (A messages list past its
 * limit is refused by its length alone: the validator never walks it.) The response schema is compiled here too, so a
 * schema that is not one (a bad regular expression) is the caller's fault, not a model failure found after the model
 * was paid for.
 */
function checkRequest(body: unknown): ChatRequest {
  const hazard = jsonHazard(body);
  if (hazard) throw new QueryError('bad_request', `llm query request: ${formatIssue(hazard)}`);
  let chat: ChatRequest;
  try {
    chat = requestValidator.parse(body, 'llm query request');
  } catch (error) {
    if (error instanceof ValidationError) throw new QueryError('bad_request', error.message);
    // parse throws only for a value it refused: describing why failed (a key such as "" it did not foresee).
    throw new QueryError(
      'bad_request',
      `llm query request: does not match the expected shape (the daemon could not say where: ${errorText(error)})`,
    );
  }
  if (chat.response_schema) {
    try {
      new Validator(chat.response_schema.schema as unknown as TSchema).compile();
    } catch (error) {
      throw new QueryError(
        'bad_request',
        `llm query request: response_schema.schema is not a schema the daemon can check replies against: ${errorText(error)}`,
      );
    }
  }
  return chat;
}
