import {
  createAssistantMessageEventStream,
  type Api,
  type AssistantMessage,
  type AssistantMessageEvent,
  type AssistantMessageEventStream,
  type Context,
  type Model,
  type SimpleStreamOptions,
} from '@mariozechner/pi-ai';
import { backoffDelay, isRequestFault, isRetryable } from './backoff.ts';
import { replyEvents, streamCompletion } from './completion-stream.ts';
import type { Endpoint } from './model.ts';
import { DEFAULT_REPLY_LIMITS, type ReplyLimits } from './reply-limits.ts';
import type { ResponseSchema } from './structured-output.ts';
import { Watchdog } from './watchdog.ts';
import { errorText, redactUrl, sleep } from '../../daemon/util/index.ts';

export interface ChainStreamOptions {
  signal?: AbortSignal;
  sessionId?: string;
  /** Ask for a completion matching this JSON schema (structured output). */
  responseSchema?: ResponseSchema;
}

/** What one endpoint has done lately, for health and `llm check`. */
export type EndpointHealth = {
  name: string;
  base_url: string;
  model: string;
  requests: number;
  failures: number;
  /** Time to first token of the last good answer, ms. */
  last_ttft_ms: number | null;
  last_error: string | null;
  cooling_down: boolean;
};

type Attempt =
  | { ok: true; events: AssistantMessageEvent[] }
  | { ok: false; reason: string; retryable: boolean; aborted: boolean; retryAfterMs?: number };

interface EndpointState {
  endpoint: Endpoint;
  requests: number;
  failures: number;
  lastTtftMs: number | null;
  lastError: string | null;
  coolUntil: number;
}

/** Where a fallback is reported: the daemon's logger (pino's shape). */
export interface ChainLog {
  warn(fields: Record<string, unknown>, message: string): void;
}

export interface EndpointChainOptions {
  endpoints: readonly Endpoint[];
  /** What one reply may hold (llm.max_tool_argument_bytes, llm.max_reply_bytes). */
  limits?: ReplyLimits;
  /** Failed attempts and fallbacks are warned here, at most once per endpoint and reason a minute. */
  log?: ChainLog;
  /**
   * ms for cooldowns, warning rates and time to first token: monotonic (performance.now) by default, since
   * the wall clock steps with NTP (a step back of an hour kept every endpoint cooling down an hour). Tests
   * of backoff inject one.
   */
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
  #limits: ReplyLimits;
  #log: ChainLog | undefined;
  /** When each (endpoint, reason kind) was last warned about: a dead endpoint fails every request alike. */
  #warned = new Map<string, number>();

  constructor(options: EndpointChainOptions) {
    const {
      endpoints,
      now = () => performance.now(),
      random = Math.random,
      limits = DEFAULT_REPLY_LIMITS,
      log,
    } = options;
    this.#states = endpoints.map((endpoint) => ({
      endpoint,
      requests: 0,
      failures: 0,
      lastTtftMs: null,
      lastError: null,
      coolUntil: 0,
    }));
    this.#now = now;
    this.#random = random;
    this.#limits = limits;
    this.#log = log;
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
    if (this.#states.length === 0)
      return { ok: false, reason: 'no model endpoint is configured (llm.endpoints is empty)' };
    const now = this.#now();
    if (this.#states.every((s) => s.coolUntil > now)) {
      return {
        ok: false,
        reason: `every model endpoint failed recently: ${this.#states.map((s) => `${s.endpoint.settings.name}: ${s.lastError}`).join('; ')}`,
      };
    }
    return { ok: true };
  }

  health(): EndpointHealth[] {
    const now = this.#now();
    return this.#states.map((s) => ({
      name: s.endpoint.settings.name,
      base_url: redactUrl(s.endpoint.settings.base_url),
      model: s.endpoint.settings.model,
      requests: s.requests,
      failures: s.failures,
      last_ttft_ms: s.lastTtftMs,
      last_error: s.lastError,
      cooling_down: s.coolUntil > now,
    }));
  }

  /** pi's StreamFn: the agent loop calls this for every turn. The `model` argument is ignored. */
  readonly streamFn = (
    _model: Model<Api>,
    context: Context,
    options?: SimpleStreamOptions,
  ): AssistantMessageEventStream => this.stream(context, { signal: options?.signal, sessionId: options?.sessionId });

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
        failures.push(
          `${settings.name}: skipped, it failed within the last ${settings.cooldown_ms} ms (${state.lastError})`,
        );
        continue;
      }
      let cooldown = settings.cooldown_ms;
      let wait: number | undefined;
      let requestFault = false;
      for (let attempt = 0; attempt <= settings.retries; attempt++) {
        if (attempt > 0) {
          const delay = wait ?? backoffDelay(attempt, settings.backoff_ms, settings.backoff_max_ms, this.#random);
          if (!(await sleep(delay, { signal }))) return this.#fail(outer, 'aborted', 'the request was cancelled');
        }
        state.requests++;
        const result = await this.#attempt(state, context, options);
        if (result.ok) {
          state.lastError = null;
          state.coolUntil = 0;
          if (failures.length > 0) this.#warnFallback(failures, settings.name);
          for (const event of result.events) outer.push(event);
          outer.end();
          return;
        }
        state.failures++;
        state.lastError = result.reason;
        if (result.aborted) return this.#fail(outer, 'aborted', 'the request was cancelled');
        failures.push(`${settings.name} attempt ${attempt + 1}: ${result.reason}`);
        if (!result.retryable) {
          requestFault = isRequestFault(result.reason);
          break;
        }
        // A 429's Retry-After is honoured when it fits the endpoint's backoff budget; a longer one moves on
        // to the next endpoint now and keeps this one cooling down until the server said to come back.
        wait = result.retryAfterMs;
        if (wait !== undefined && wait > settings.backoff_max_ms) {
          cooldown = Math.max(cooldown, wait);
          break;
        }
      }
      // This request was refused, not the endpoint down: other requests still go to it.
      if (!requestFault) state.coolUntil = this.#now() + cooldown;
    }
    const reason =
      this.#states.length === 0
        ? 'no model endpoint is configured (llm.endpoints is empty)'
        : `no model endpoint answered: ${failures.join('; ')}`;
    if (failures.length > 0) this.#warnFallback(failures, undefined);
    this.#fail(outer, 'error', reason);
  }

  /**
   * An operator whose local model is down should see in the log that requests now go elsewhere. Rate-limited
   * per failing endpoint and first failure, since a dead endpoint fails every request the same way.
   */
  #warnFallback(failures: string[], usedInstead: string | undefined): void {
    if (!this.#log) return;
    const key = `${failures[0]!.replace(/\d+/g, '#').slice(0, 120)}->${usedInstead ?? ''}`;
    const now = this.#now();
    if ((this.#warned.get(key) ?? -Infinity) > now - WARN_EVERY_MS) return;
    this.#warned.set(key, now);
    if (usedInstead)
      this.#log.warn(
        { failures, endpoint: usedInstead },
        `model endpoint fallback: ${failures.join('; ')}; answered by ${usedInstead} instead`,
      );
    else this.#log.warn({ failures }, `no model endpoint answered: ${failures.join('; ')}`);
  }

  #fail(outer: AssistantMessageEventStream, reason: 'error' | 'aborted', message: string): void {
    const model = this.primaryModel;
    const error: AssistantMessage = {
      role: 'assistant',
      content: [],
      api: model?.api ?? 'none',
      provider: model?.provider ?? 'none',
      model: model?.id ?? 'none',
      usage: {
        input: 0,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 0,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
      },
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
    const whole = setTimeout(() => controller.abort(), settings.request_timeout_ms);
    try {
      const result = await streamCompletion(endpoint, context, {
        signal: controller.signal,
        limits: this.#limits,
        responseSchema: options.responseSchema,
        onResponse: () => {
          respondedAt = this.#now();
          arm(settings.first_token_timeout_ms, 'no first token');
        },
        onContent: () => {
          firstTokenAt ??= this.#now();
          arm(settings.idle_timeout_ms, 'the stream went silent');
        },
      });
      if (options.signal?.aborted) return { ok: false, reason: 'cancelled', retryable: false, aborted: true };
      if (watchdog.expired) return { ok: false, reason: watchdog.expired, retryable: true, aborted: false };
      if (controller.signal.aborted)
        return {
          ok: false,
          reason: `no whole reply within request_timeout_ms (${settings.request_timeout_ms} ms)`,
          retryable: true,
          aborted: false,
        };
      if (!result.ok) {
        const { reason, retryAfterMs } = result;
        return {
          ok: false,
          reason,
          retryable: result.retryable && isRetryable(reason),
          aborted: false,
          ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
        };
      }
      const problem = checkToolCalls(result.message, result.rawArgs);
      if (problem) return { ok: false, reason: problem, retryable: true, aborted: false };
      state.lastTtftMs = (firstTokenAt ?? this.#now()) - (respondedAt ?? startedAt);
      return { ok: true, events: replyEvents(result.message) };
    } catch (error) {
      if (options.signal?.aborted) return { ok: false, reason: 'cancelled', retryable: false, aborted: true };
      const reason =
        watchdog.expired ??
        (controller.signal.aborted
          ? `no whole reply within request_timeout_ms (${settings.request_timeout_ms} ms)`
          : errorText(error));
      return { ok: false, reason, retryable: watchdog.expired !== undefined || isRetryable(reason), aborted: false };
    } finally {
      clearTimeout(whole);
      watchdog.clear();
      options.signal?.removeEventListener('abort', onOuterAbort);
    }
  }
}

const WARN_EVERY_MS = 60_000;

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
      return `malformed tool-call arguments for ${block.name} (${errorText(error)}): ${raw.length > 120 ? `${raw.slice(0, 117)}...` : raw}`;
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      return `tool-call arguments for ${block.name} are not a JSON object: ${raw.slice(0, 120)}`;
    block.arguments = parsed as Record<string, unknown>;
  }
  return undefined;
}
