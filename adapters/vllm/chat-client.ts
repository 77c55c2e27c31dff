import OpenAI from 'openai';
import type { TSchema } from 'typebox';
import { errorText, sleep, Validator } from '../../daemon/util/index.ts';
import { backoffDelay, isRetryable, retryAfter } from './backoff.ts';
import type { Endpoint } from './model.ts';
import { DEFAULT_REPLY_LIMITS, LINE_SLACK_BYTES, type ReplyLimits } from './reply-limits.ts';
import { Watchdog } from './watchdog.ts';
import { replyCheckSchema, withResponseSchema, type ResponseSchema } from './structured-output.ts';
import { redactUrl } from '../../daemon/util/index.ts';

/** A plain chat request: what the bus query and `llm check` send. */
export interface ChatRequest {
  messages: { role: 'system' | 'user' | 'assistant'; content: string }[];
  max_tokens?: number;
  temperature?: number;
  /** Structured output: the reply must be JSON matching this schema. */
  response_schema?: ResponseSchema;
}

export interface ChatReply {
  endpoint: string;
  model: string;
  content: string;
  /** The parsed reply, when a response schema was asked for (and it matched). */
  parsed?: unknown;
  finish_reason: string | null;
  usage: { prompt_tokens: number; completion_tokens: number } | null;
  /** Response headers to the first token (a reasoning model's first thinking token), ms. */
  ttft_ms: number;
  total_ms: number;
}

/**
 * The openai package's client for an endpoint, for what pi-ai does not reach: listing models and raw chat
 * completions. Its own retries are off: ours fall back across endpoints. Its own logging is off too: it
 * writes lines like "Could not parse message into JSON" to the console, and every failure reaches the
 * caller as an error anyway.
 */
export function openaiClient(endpoint: Endpoint, maxLineBytes?: number): OpenAI {
  const { settings } = endpoint;
  return new OpenAI({
    apiKey: endpoint.apiKey,
    baseURL: endpoint.model.baseUrl,
    ...(endpoint.model.headers ? { defaultHeaders: endpoint.model.headers } : {}),
    timeout: settings.request_timeout_ms,
    maxRetries: 0,
    logLevel: 'off',
    ...(maxLineBytes
      ? { fetch: boundedFetch(maxLineBytes, `${settings.name} (${redactUrl(endpoint.model.baseUrl)})`) }
      : {}),
  });
}

/** A reply past `llm.max_reply_bytes`: the endpoint is not asked again (it would send as much), the next one is. */
export class ReplyTooLargeError extends Error {
  override name = 'ReplyTooLargeError';
}

/**
 * fetch whose response body errors once one of its lines passes `limit` bytes: the openai library holds a
 * line in memory until it ends, so an endless one would grow the daemon before the caller sees any of it.
 */
function boundedFetch(limit: number, where: string): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init);
    if (!response.body) return response;
    let line = 0;
    const counted = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          let start = 0;
          for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
            if (line + newline - start > limit) break;
            line = 0;
            start = newline + 1;
          }
          line += chunk.byteLength - start;
          if (line > limit)
            controller.error(
              new ReplyTooLargeError(
                `a line of the reply from ${where} passed ${limit} bytes (llm.max_reply_bytes and its JSON)`,
              ),
            );
          else controller.enqueue(chunk);
        },
      }),
    );
    return new Response(counted, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}

/**
 * GET /models: the ids the endpoint serves, all within `deadlineMs` (default: the endpoint's connect plus
 * first-token timeouts). The deadline covers the body too: the openai client's own timeout stops at the
 * headers, and a server that sends headers and then stalls would hold `llm check` for ever.
 */
export async function listModels(endpoint: Endpoint, signal?: AbortSignal, deadlineMs?: number): Promise<string[]> {
  const { settings } = endpoint;
  const deadline = deadlineMs ?? settings.connect_timeout_ms + settings.first_token_timeout_ms;
  const client = openaiClient(endpoint);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort();
  }, deadline);
  const ids: string[] = [];
  try {
    const page = await client.models.list({ signal: controller.signal, timeout: deadline });
    for await (const model of page) ids.push(model.id);
    return ids;
  } catch (error) {
    if (expired)
      throw new Error(`no complete answer from ${redactUrl(endpoint.model.baseUrl)}/models within ${deadline} ms`);
    throw error;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

/**
 * One streamed chat completion under the endpoint's connect, first-token and idle timeouts. Throws an
 * Error whose message starts with the HTTP status when there is one (so `isRetryable` can read it).
 */
export async function chatOnce(
  endpoint: Endpoint,
  request: ChatRequest,
  signal?: AbortSignal,
  limits: ReplyLimits = DEFAULT_REPLY_LIMITS,
): Promise<ChatReply> {
  const { settings } = endpoint;
  const client = openaiClient(endpoint, limits.max_reply_bytes + LINE_SLACK_BYTES);
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const watchdog = new Watchdog(controller);
  const arm = (ms: number, what: string) => watchdog.arm(ms, what);
  const started = performance.now();
  // The openai client's own timeout ends at the response headers: a stream that crawls on is bounded here.
  let overdue: string | undefined;
  const whole = setTimeout(() => {
    overdue = `no whole reply within request_timeout_ms (${settings.request_timeout_ms} ms)`;
    controller.abort();
  }, settings.request_timeout_ms);
  const body = requestBody(settings, request);
  try {
    arm(settings.connect_timeout_ms, 'no response from the server');
    const stream = await client.chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsStreaming, {
      signal: controller.signal,
    });
    const responded = performance.now();
    arm(settings.first_token_timeout_ms, 'no first token');
    let content = '';
    let contentBytes = 0;
    let firstToken: number | undefined;
    let finish: string | null = null;
    let usage: ChatReply['usage'] = null;
    let model = settings.model;
    for await (const chunk of stream) {
      if (chunk.model) model = chunk.model;
      if (chunk.usage)
        usage = { prompt_tokens: chunk.usage.prompt_tokens, completion_tokens: chunk.usage.completion_tokens };
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      // A reasoning model (vLLM's --reasoning-parser) streams its thinking before any content: those are
      // tokens too, so they end the wait for a first token and keep the stream from counting as silent.
      if (reasoningOf(choice.delta)) {
        firstToken ??= performance.now();
        arm(settings.idle_timeout_ms, 'the stream went silent');
      }
      if (choice.delta?.content) {
        firstToken ??= performance.now();
        contentBytes += Buffer.byteLength(choice.delta.content);
        if (contentBytes > limits.max_reply_bytes) {
          controller.abort();
          throw new ReplyTooLargeError(
            `reply over ${limits.max_reply_bytes} bytes (llm.max_reply_bytes) from ${settings.name} (${redactUrl(endpoint.model.baseUrl)})`,
          );
        }
        content += choice.delta.content;
        arm(settings.idle_timeout_ms, 'the stream went silent');
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    if (watchdog.expired ?? overdue) throw new Error(watchdog.expired ?? overdue);
    checkFinished(settings.name, content, finish);
    const reply: ChatReply = {
      endpoint: settings.name,
      model,
      content,
      finish_reason: finish,
      usage,
      ttft_ms: (firstToken ?? performance.now()) - responded,
      total_ms: performance.now() - started,
    };
    if (request.response_schema) reply.parsed = parseStructured(content, request.response_schema);
    return reply;
  } catch (error) {
    if (watchdog.expired ?? overdue) throw new Error(watchdog.expired ?? overdue);
    if (signal?.aborted) throw new Error('cancelled');
    throw error instanceof Error ? error : new Error(String(error));
  } finally {
    clearTimeout(whole);
    watchdog.clear();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The streamed request's body: the endpoint's model and limits, the caller's messages, a response schema if asked. */
function requestBody(settings: Endpoint['settings'], request: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: settings.model,
    messages: request.messages,
    // The endpoint's setting is a ceiling: a caller (a bus query) cannot ask for more.
    [settings.max_tokens_field]: Math.min(request.max_tokens ?? settings.max_tokens, settings.max_tokens),
    temperature: request.temperature ?? settings.temperature,
    stream: true,
    stream_options: { include_usage: true },
  };
  return request.response_schema
    ? withResponseSchema(body, request.response_schema, settings.structured_outputs)
    : body;
}

/** Throws when a stream that ended is not an answer: cut before its finish_reason, or empty. */
function checkFinished(endpoint: string, content: string, finish: string | null): asserts finish is string {
  // A stream cut before its finish_reason is an incomplete answer, not a short one.
  if (finish === null) throw new Error('the stream ended before the model finished (no finish_reason)');
  // Nothing said and nothing cut off: a failed attempt, as it is for the agent, not an answer.
  if (content === '' && finish === 'stop')
    throw new Error(`${endpoint} sent an empty completion (finish_reason stop, no text)`);
}

/** The same request down the fallback chain, with retries and backoff per endpoint. */
export async function chatWithFallback(
  endpoints: readonly Endpoint[],
  request: ChatRequest,
  signal?: AbortSignal,
  limits: ReplyLimits = DEFAULT_REPLY_LIMITS,
): Promise<ChatReply> {
  if (endpoints.length === 0) throw new Error('no model endpoint is configured (llm.endpoints is empty)');
  const failures: string[] = [];
  for (const endpoint of endpoints) {
    const { settings } = endpoint;
    let wait: number | undefined;
    for (let attempt = 0; attempt <= settings.retries; attempt++) {
      if (attempt > 0) {
        const delay = wait ?? backoffDelay(attempt, settings.backoff_ms, settings.backoff_max_ms);
        if (!(await sleep(delay, { signal }))) throw new Error('aborted');
      }
      try {
        return await chatOnce(endpoint, request, signal, limits);
      } catch (error) {
        const message = errorText(error);
        if (signal?.aborted) throw error;
        failures.push(`${settings.name} attempt ${attempt + 1}: ${message}`);
        if (error instanceof ReplyTooLargeError || !isRetryable(message)) break;
        // As in the agent's chain: a 429's Retry-After is waited out when it fits the backoff budget, and a
        // longer one moves on to the next endpoint rather than ask again sooner than the server said.
        wait = error instanceof OpenAI.APIError && error.status === 429 ? retryAfter(error.headers) : undefined;
        if (wait !== undefined && wait > settings.backoff_max_ms) break;
      }
    }
  }
  throw new Error(`no model endpoint answered: ${failures.join('; ')}`);
}

/** The thinking a delta carries: vLLM's `reasoning_content` (`reasoning` since 0.10), or `reasoning_text`. */
export function reasoningOf(delta: object | undefined): string | undefined {
  const d = (delta ?? {}) as Record<string, unknown>;
  return [d.reasoning_content, d.reasoning, d.reasoning_text].find(
    (r): r is string => typeof r === 'string' && r.length > 0,
  );
}

function parseStructured(content: string, schema: ResponseSchema): unknown {
  let value: unknown;
  try {
    value = JSON.parse(content);
  } catch (error) {
    throw new Error(
      `the reply is not JSON though a response schema was asked for (${errorText(error)}): ${content.slice(0, 120)}`,
    );
  }
  // Structured output is a server feature we cannot see: check the reply rather than trust it (all but the
  // caller's regular expressions, which the server applied and which could stall the daemon here).
  new Validator(replyCheckSchema(schema.schema) as TSchema).parse(value, `reply to response schema ${schema.name}`);
  return value;
}
