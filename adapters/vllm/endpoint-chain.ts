import {
  createAssistantMessageEventStream,
  streamSimple,
  type Api,
  type AssistantMessage,
  type AssistantMessageEvent,
  type AssistantMessageEventStream,
  type Context,
  type Model,
  type SimpleStreamOptions,
} from '@mariozechner/pi-ai';
import { backoffDelay, isRetryable, sleep } from './backoff.ts';
import type { Endpoint } from './model.ts';
import { withResponseSchema, type ResponseSchema } from './structured-output.ts';
import { Watchdog } from './watchdog.ts';

export interface ChainStreamOptions {
  signal?: AbortSignal;
  sessionId?: string;
  /** Ask for a completion matching this JSON schema (structured output). */
  responseSchema?: ResponseSchema;
}

/** What one endpoint has done lately, for health and `llm check`. */
export interface EndpointHealth {
  name: string;
  base_url: string;
  model: string;
  requests: number;
  failures: number;
  /** Time to first token of the last good answer, ms. */
  last_ttft_ms: number | null;
  last_error: string | null;
  cooling_down: boolean;
}

type Attempt =
  | { ok: true; events: AssistantMessageEvent[] }
  | { ok: false; reason: string; retryable: boolean; aborted: boolean };

interface EndpointState {
  endpoint: Endpoint;
  requests: number;
  failures: number;
  lastTtftMs: number | null;
  lastError: string | null;
  coolUntil: number;
}

export interface EndpointChainOptions {
  endpoints: readonly Endpoint[];
  /** Injected for tests of backoff; the real clock otherwise. */
  now?: () => number;
  random?: () => number;
}

/**
 * The fallback chain of model endpoints (local vLLM, then a gateway, then none), as a pi-ai stream
 * function. Each attempt is streamed under connect, first-token and idle timeouts, and buffered until the
 * model finishes: a reply is only handed on whole and checked, so a fault anywhere in it (a 500, a stream
 * cut mid tool call, malformed tool-call JSON, silence) is retried with backoff and then falls back to the
 * next endpoint, and the agent never sees half an answer. When every endpoint fails, the reply is an error
 * message naming each failure; it never hangs, and it never throws (pi's StreamFn contract).
 */
export class EndpointChain {
  #states: EndpointState[];
  #now: () => number;
  #random: () => number;

  constructor(options: EndpointChainOptions) {
    const { endpoints, now = Date.now, random = Math.random } = options;
    this.#states = endpoints.map((endpoint) => ({ endpoint, requests: 0, failures: 0, lastTtftMs: null, lastError: null, coolUntil: 0 }));
    this.#now = now;
    this.#random = random;
  }

  get endpoints(): readonly Endpoint[] {
    return this.#states.map((s) => s.endpoint);
  }

  /** The first endpoint's model, for pi's Agent state; the chain picks the real one per request. */
  get primaryModel(): Model<Api> | undefined {
    return this.#states[0]?.endpoint.model;
  }

  /** Whether some endpoint may be tried now (none configured, or all cooling down after failures: no). */
  available(): { ok: true } | { ok: false; reason: string } {
    if (this.#states.length === 0) return { ok: false, reason: 'no model endpoint is configured (llm.endpoints is empty)' };
    const now = this.#now();
    if (this.#states.every((s) => s.coolUntil > now)) {
      return { ok: false, reason: `every model endpoint failed recently: ${this.#states.map((s) => `${s.endpoint.settings.name}: ${s.lastError}`).join('; ')}` };
    }
    return { ok: true };
  }

  health(): EndpointHealth[] {
    const now = this.#now();
    return this.#states.map((s) => ({
      name: s.endpoint.settings.name,
      base_url: s.endpoint.settings.base_url,
      model: s.endpoint.settings.model,
      requests: s.requests,
      failures: s.failures,
      last_ttft_ms: s.lastTtftMs,
      last_error: s.lastError,
      cooling_down: s.coolUntil > now,
    }));
  }

  /** pi's StreamFn: the agent loop calls this for every turn. The `model` argument is ignored. */
  readonly streamFn = (_model: Model<Api>, context: Context, options?: SimpleStreamOptions): AssistantMessageEventStream =>
    this.stream(context, { signal: options?.signal, sessionId: options?.sessionId });

  stream(context: Context, options: ChainStreamOptions = {}): AssistantMessageEventStream {
    const outer = createAssistantMessageEventStream();
    void this.#run(context, options, outer);
    return outer;
  }

  async #run(context: Context, options: ChainStreamOptions, outer: AssistantMessageEventStream): Promise<void> {
    const failures: string[] = [];
    const { signal } = options;
    if (signal?.aborted) return this.#fail(outer, 'aborted', 'the request was cancelled');
    for (const state of this.#states) {
      const { settings } = state.endpoint;
      if (state.coolUntil > this.#now()) {
        failures.push(`${settings.name}: skipped, it failed within the last ${settings.cooldown_ms} ms (${state.lastError})`);
        continue;
      }
      for (let attempt = 0; attempt <= settings.retries; attempt++) {
        if (attempt > 0) {
          try {
            await sleep(backoffDelay(attempt, settings.backoff_ms, settings.backoff_max_ms, this.#random), signal);
          } catch {
            return this.#fail(outer, 'aborted', 'the request was cancelled');
          }
        }
        state.requests++;
        const result = await this.#attempt(state, context, options);
        if (result.ok) {
          state.lastError = null;
          state.coolUntil = 0;
          for (const event of result.events) outer.push(event);
          outer.end();
          return;
        }
        state.failures++;
        state.lastError = result.reason;
        if (result.aborted) return this.#fail(outer, 'aborted', 'the request was cancelled');
        failures.push(`${settings.name} attempt ${attempt + 1}: ${result.reason}`);
        if (!result.retryable) break;
      }
      state.coolUntil = this.#now() + settings.cooldown_ms;
    }
    const reason =
      this.#states.length === 0 ? 'no model endpoint is configured (llm.endpoints is empty)' : `no model endpoint answered: ${failures.join('; ')}`;
    this.#fail(outer, 'error', reason);
  }

  #fail(outer: AssistantMessageEventStream, reason: 'error' | 'aborted', message: string): void {
    const model = this.primaryModel;
    const error: AssistantMessage = {
      role: 'assistant',
      content: [],
      api: model?.api ?? 'none',
      provider: model?.provider ?? 'none',
      model: model?.id ?? 'none',
      usage: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, totalTokens: 0, cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 } },
      stopReason: reason,
      errorMessage: message,
      timestamp: Date.now(),
    };
    outer.push({ type: 'error', reason, error });
    outer.end(error);
  }

  async #attempt(state: EndpointState, context: Context, options: ChainStreamOptions): Promise<Attempt> {
    const { endpoint } = state;
    const { settings } = endpoint;
    const controller = new AbortController();
    const onOuterAbort = () => controller.abort();
    options.signal?.addEventListener('abort', onOuterAbort, { once: true });
    const watchdog = new Watchdog(controller);
    const arm = (ms: number, what: string) => watchdog.arm(ms, what);
    const startedAt = this.#now();
    let respondedAt: number | undefined;
    let firstTokenAt: number | undefined;
    arm(settings.connect_timeout_ms, 'no response from the server');
    const events: AssistantMessageEvent[] = [];
    const rawArgs = new Map<number, string>();
    try {
      const inner = streamSimple(endpoint.model, context, {
        apiKey: endpoint.apiKey,
        signal: controller.signal,
        sessionId: options.sessionId,
        maxTokens: settings.max_tokens,
        temperature: settings.temperature,
        timeoutMs: settings.request_timeout_ms,
        // Retries and backoff are ours, so a fault falls back to the next endpoint in bounded time.
        maxRetries: 0,
        onPayload: options.responseSchema
          ? (payload) => withResponseSchema(payload as Record<string, unknown>, options.responseSchema!, settings.structured_outputs)
          : undefined,
        onResponse: () => {
          respondedAt = this.#now();
          arm(settings.first_token_timeout_ms, 'no first token');
        },
      });
      for await (const event of inner) {
        events.push(event);
        switch (event.type) {
          case 'text_delta':
          case 'thinking_delta':
          case 'toolcall_delta':
          case 'toolcall_start':
          case 'text_start':
          case 'thinking_start':
            firstTokenAt ??= this.#now();
            arm(settings.idle_timeout_ms, 'the stream went silent');
            if (event.type === 'toolcall_delta') rawArgs.set(event.contentIndex, (rawArgs.get(event.contentIndex) ?? '') + event.delta);
            break;
          case 'done': {
            const problem = checkToolCalls(event.message, rawArgs);
            if (problem) return { ok: false, reason: problem, retryable: true, aborted: false };
            state.lastTtftMs = (firstTokenAt ?? this.#now()) - (respondedAt ?? startedAt);
            return { ok: true, events };
          }
          case 'error': {
            if (options.signal?.aborted) return { ok: false, reason: 'cancelled', retryable: false, aborted: true };
            const reason = watchdog.expired ?? event.error.errorMessage ?? 'the endpoint returned an error';
            return { ok: false, reason, retryable: watchdog.expired !== undefined || isRetryable(reason), aborted: false };
          }
        }
      }
      return { ok: false, reason: watchdog.expired ?? 'the stream ended without a final message', retryable: true, aborted: false };
    } catch (error) {
      // streamSimple throws synchronously for setup errors (unknown api); no retry fixes those.
      return { ok: false, reason: (error as Error).message, retryable: false, aborted: false };
    } finally {
      watchdog.clear();
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
  }
}

/**
 * A reply's tool calls are only run when their arguments arrived whole: pi-ai repairs and partially parses
 * JSON for live display, which would turn `{"x": 1.5, "y": 2` (a stream cut mid-number) into a real goal.
 * So every call's raw argument text must parse strictly, and a reply cut off at max_tokens ("length")
 * fails every call rather than running truncated arguments.
 */
function checkToolCalls(message: AssistantMessage, rawArgs: ReadonlyMap<number, string>): string | undefined {
  for (const [index, block] of message.content.entries()) {
    if (block.type !== 'toolCall') continue;
    if (!block.name) return 'a tool call without a tool name';
    if (message.stopReason === 'length') return `the reply was cut off at max_tokens inside a call of ${block.name}`;
    const raw = rawArgs.get(index) ?? '';
    if (raw.trim() === '') {
      block.arguments = {};
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (error) {
      return `malformed tool-call arguments for ${block.name} (${(error as Error).message}): ${raw.length > 120 ? `${raw.slice(0, 117)}...` : raw}`;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return `tool-call arguments for ${block.name} are not a JSON object: ${raw.slice(0, 120)}`;
    block.arguments = parsed as Record<string, unknown>;
  }
  return undefined;
}
