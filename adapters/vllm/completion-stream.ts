import type {
  AssistantMessage,
  AssistantMessageEvent,
  Context,
  TextContent,
  ThinkingContent,
  ToolCall,
} from '@mariozechner/pi-ai';
import OpenAI from 'openai';
import { retryAfter } from './backoff.ts';
import { openaiClient, reasoningOf } from './chat-client.ts';
import { redactUrl } from '../../daemon/util/index.ts';
import type { Endpoint } from './model.ts';
import { LINE_SLACK_BYTES, type ReplyLimits } from './reply-limits.ts';
import { requestMessages } from './request-messages.ts';
import { withResponseSchema, type ResponseSchema } from './structured-output.ts';

export interface CompletionOptions {
  signal: AbortSignal;
  limits: ReplyLimits;
  responseSchema?: ResponseSchema;
  /** Response headers arrived. */
  onResponse?: () => void;
  /** A chunk carrying reply content arrived (for first-token and idle timeouts). */
  onContent?: () => void;
}

export type Completion =
  | { ok: true; message: AssistantMessage; rawArgs: Map<number, string> }
  | { ok: false; reason: string; retryable: boolean; retryAfterMs?: number };

/**
 * One streamed chat completion for pi's agent, parsed here rather than by pi-ai: pi-ai re-parses a tool
 * call's whole argument text on every delta (quadratic: a 20 MB argument held the event loop for minutes),
 * and it reads the whole body whatever it holds. Here each delta is appended once, the reply is measured as
 * it arrives, and the request is aborted at the first byte over a limit, so a runaway endpoint costs at
 * most the limits in memory and time. Only complete, finished replies come back `ok`.
 */
export async function streamCompletion(
  endpoint: Endpoint,
  context: Context,
  options: CompletionOptions,
): Promise<Completion> {
  const { settings, model } = endpoint;
  const { limits, signal } = options;
  // Reasons go to the run, the journal, /status and the log: a proxy's password in base_url shows as ***.
  const where = `${settings.name} (${redactUrl(settings.base_url)})`;
  let params: Record<string, unknown> = {
    model: model.id,
    messages: requestMessages(model, context),
    stream: true,
    stream_options: { include_usage: true },
    [settings.max_tokens_field]: settings.max_tokens,
    temperature: settings.temperature,
  };
  if (context.tools && context.tools.length > 0) {
    params.tools = context.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.parameters },
    }));
  }
  if (options.responseSchema) params = withResponseSchema(params, options.responseSchema, settings.structured_outputs);

  let response: Response;
  try {
    response = await openaiClient(endpoint)
      .chat.completions.create(params as unknown as OpenAI.ChatCompletionCreateParamsStreaming, { signal })
      .asResponse();
  } catch (error) {
    const retryAfterMs =
      error instanceof OpenAI.APIError && error.status === 429 ? retryAfter(error.headers) : undefined;
    const reason = (error as Error).message;
    return { ok: false, reason, retryable: true, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
  }
  options.onResponse?.();
  const type = (response.headers.get('content-type') ?? '').toLowerCase();
  const reply = new ReplyBuilder(endpoint, limits, where);
  if (type.includes('application/json')) {
    // A server that ignores `stream: true` answers one JSON completion.
    const text = await readCapped(response, limits.max_reply_bytes + LINE_SLACK_BYTES);
    if (text === undefined)
      return {
        ok: false,
        reason: `${where} answered a JSON body over ${limits.max_reply_bytes + LINE_SLACK_BYTES} bytes`,
        retryable: false,
      };
    const problem = reply.addJson(text);
    if (problem) return problem;
  } else if (type.includes('text/event-stream')) {
    const problem = await readEvents(response, limits.max_reply_bytes + LINE_SLACK_BYTES, where, (data) => {
      const failed = reply.addChunk(data);
      if (!failed) options.onContent?.();
      return failed;
    });
    if (problem) return problem;
  } else {
    const head = (await readCapped(response, 4096, true)) ?? '';
    const snippet = head.replace(/\s+/g, ' ').trim().slice(0, 80);
    return {
      ok: false,
      reason: `${where} answered ${type || 'no content type'}, not an event stream${snippet ? `: ${snippet}` : ''}`,
      retryable: false,
    };
  }
  return reply.finish(
    JSON.stringify(params.messages).length + (params.tools ? JSON.stringify(params.tools).length : 0),
  );
}

/** The events pi's agent loop reads, for a reply that is already whole. */
export function replyEvents(message: AssistantMessage): AssistantMessageEvent[] {
  const events: AssistantMessageEvent[] = [{ type: 'start', partial: message }];
  for (const [contentIndex, block] of message.content.entries()) {
    if (block.type === 'text') {
      events.push({ type: 'text_start', contentIndex, partial: message });
      events.push({ type: 'text_delta', contentIndex, delta: block.text, partial: message });
      events.push({ type: 'text_end', contentIndex, content: block.text, partial: message });
    } else if (block.type === 'thinking') {
      events.push({ type: 'thinking_start', contentIndex, partial: message });
      events.push({ type: 'thinking_delta', contentIndex, delta: block.thinking, partial: message });
      events.push({ type: 'thinking_end', contentIndex, content: block.thinking, partial: message });
    } else if (block.type === 'toolCall') {
      events.push({ type: 'toolcall_start', contentIndex, partial: message });
      events.push({ type: 'toolcall_delta', contentIndex, delta: JSON.stringify(block.arguments), partial: message });
      events.push({ type: 'toolcall_end', contentIndex, toolCall: block, partial: message });
    }
  }
  if (message.stopReason === 'stop' || message.stopReason === 'length' || message.stopReason === 'toolUse') {
    events.push({ type: 'done', reason: message.stopReason, message });
  }
  return events;
}

type Failed = Extract<Completion, { ok: false }>;

interface CallDraft {
  index: number;
  id: string;
  name: string;
  args: string;
  bytes: number;
}

/** Accumulates a reply's chunks, measuring as it goes. */
class ReplyBuilder {
  #endpoint: Endpoint;
  #limits: ReplyLimits;
  #where: string;
  #text = '';
  #thinking = '';
  /** The call each server index is at now: a new call may take an index over (see addChunk). */
  #calls = new Map<number, CallDraft>();
  #order: ('text' | 'thinking' | CallDraft)[] = [];
  #bytes = 0;
  #finish: string | null = null;
  #usage: { input: number; output: number } | undefined;
  #responseId: string | undefined;

  constructor(endpoint: Endpoint, limits: ReplyLimits, where: string) {
    this.#endpoint = endpoint;
    this.#limits = limits;
    this.#where = where;
  }

  addJson(text: string): Failed | undefined {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return {
        ok: false,
        reason: `${this.#where} answered application/json that does not parse: ${text.slice(0, 80)}`,
        retryable: false,
      };
    }
    const b = body as {
      error?: { message?: string };
      choices?: { message?: Record<string, unknown>; finish_reason?: string }[];
      usage?: unknown;
    };
    if (b.error)
      return {
        ok: false,
        reason: `${this.#where} answered an error: ${b.error.message ?? JSON.stringify(b.error).slice(0, 120)}`,
        retryable: true,
      };
    const choice = b.choices?.[0];
    if (!choice?.message)
      return {
        ok: false,
        reason: `${this.#where} answered JSON that is not a chat completion: ${text.slice(0, 80)}`,
        retryable: false,
      };
    const message = choice.message as {
      content?: string;
      tool_calls?: { id?: string; function?: { name?: string; arguments?: string } }[];
    };
    return this.addChunk({
      usage: b.usage,
      choices: [
        {
          delta: { content: message.content, tool_calls: message.tool_calls?.map((c, index) => ({ index, ...c })) },
          finish_reason: choice.finish_reason ?? null,
        },
      ],
    });
  }

  /** One parsed SSE data payload. Returns why the reply must stop, if it must. */
  addChunk(chunk: unknown): Failed | undefined {
    const c = chunk as {
      id?: string;
      error?: { message?: string };
      usage?: { prompt_tokens?: number; completion_tokens?: number };
      choices?: { delta?: Record<string, unknown>; finish_reason?: string | null }[];
    };
    if (c === null || typeof c !== 'object') return undefined;
    // vLLM reports an error met mid-stream as one more data line.
    if (c.error)
      return {
        ok: false,
        reason: `${this.#where} reported an error mid-stream: ${c.error.message ?? 'no message'}`,
        retryable: true,
      };
    this.#responseId ??= c.id;
    if (c.usage) this.#usage = { input: c.usage.prompt_tokens ?? 0, output: c.usage.completion_tokens ?? 0 };
    const choice = Array.isArray(c.choices) ? c.choices[0] : undefined;
    if (!choice) return undefined;
    if (choice.finish_reason) this.#finish = choice.finish_reason;
    const delta = choice.delta ?? {};
    if (typeof delta.content === 'string' && delta.content.length > 0) {
      if (!this.#order.includes('text')) this.#order.push('text');
      this.#text += delta.content;
      const over = this.#count(delta.content);
      if (over) return over;
    }
    const reasoning = reasoningOf(delta);
    if (reasoning) {
      if (!this.#order.includes('thinking')) this.#order.push('thinking');
      this.#thinking += reasoning;
      const over = this.#count(reasoning);
      if (over) return over;
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const raw of delta.tool_calls as {
        index?: number;
        id?: string;
        function?: { name?: string; arguments?: string };
      }[]) {
        const index = raw.index ?? 0;
        let call = this.#calls.get(index);
        // A function named under a new id is a new call, even at an index in use: Ollama streams each call
        // of a batch whole, all at index 0 (ollama/ollama#15457). vLLM sends a call's id once and
        // llama.cpp repeats the same one: their later deltas go on with the call.
        if (!call || (raw.id && call.id && raw.id !== call.id && raw.function?.name)) {
          call = { index, id: '', name: '', args: '', bytes: 0 };
          this.#calls.set(index, call);
          this.#order.push(call);
        }
        if (!call.id && raw.id) call.id = raw.id;
        if (!call.name && raw.function?.name) {
          call.name = raw.function.name;
          const over = this.#count(call.name);
          if (over) return over;
        }
        const piece = raw.function?.arguments;
        if (typeof piece === 'string' && piece.length > 0) {
          call.args += piece;
          const bytes = Buffer.byteLength(piece);
          call.bytes += bytes;
          if (call.bytes > this.#limits.max_tool_argument_bytes) {
            return {
              ok: false,
              reason: `tool-call arguments for ${call.name || '(unnamed tool)'} over ${this.#limits.max_tool_argument_bytes} bytes (llm.max_tool_argument_bytes) from ${this.#where}`,
              retryable: false,
            };
          }
          const over = this.#count(piece, bytes);
          if (over) return over;
        }
      }
    }
    return undefined;
  }

  #count(piece: string, bytes = Buffer.byteLength(piece)): Failed | undefined {
    this.#bytes += bytes;
    if (this.#bytes <= this.#limits.max_reply_bytes) return undefined;
    return {
      ok: false,
      reason: `the reply is over ${this.#limits.max_reply_bytes} bytes (llm.max_reply_bytes) from ${this.#where}`,
      retryable: false,
    };
  }

  /** `requestChars`: the request's messages and tools, as sent, for the estimate when no usage comes. */
  finish(requestChars: number): Completion {
    // A stream cut before its finish_reason is an incomplete answer, not a short one.
    if (this.#finish === null)
      return {
        ok: false,
        reason: `the stream from ${this.#where} ended before the model finished (no finish_reason)`,
        retryable: true,
      };
    if (this.#order.length === 0)
      return {
        ok: false,
        reason: `${this.#where} sent an empty completion (finish_reason ${this.#finish}, no text and no tool call)`,
        retryable: true,
      };
    const { model } = this.#endpoint;
    const content: (TextContent | ThinkingContent | ToolCall)[] = [];
    const rawArgs = new Map<number, string>();
    for (const item of this.#order) {
      if (item === 'text') content.push({ type: 'text', text: this.#text });
      else if (item === 'thinking') content.push({ type: 'thinking', thinking: this.#thinking });
      else {
        rawArgs.set(content.length, item.args);
        content.push({ type: 'toolCall', id: item.id || `call_${item.index}`, name: item.name, arguments: {} });
      }
    }
    const stop = STOP_REASONS[this.#finish];
    if (!stop)
      return { ok: false, reason: `${this.#where} finished with finish_reason ${this.#finish}`, retryable: false };
    // A server that ignores stream_options.include_usage sends none: estimated (about 4 characters a
    // token), since counting 0 would leave policy.quotas.max_tokens never reached.
    let usage = this.#usage;
    if (!usage) {
      let outChars = this.#text.length + this.#thinking.length;
      for (const item of this.#order) if (typeof item === 'object') outChars += item.name.length + item.args.length;
      usage = { input: Math.ceil(requestChars / CHARS_PER_TOKEN), output: Math.ceil(outChars / CHARS_PER_TOKEN) };
    }
    const { input, output } = usage;
    const message: AssistantMessage = {
      role: 'assistant',
      content,
      api: model.api,
      provider: model.provider,
      model: model.id,
      ...(this.#responseId ? { responseId: this.#responseId } : {}),
      usage: {
        input,
        output,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: input + output,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
      },
      stopReason: stop,
      timestamp: Date.now(),
    };
    if (!this.#usage) estimated.add(message);
    return { ok: true, message, rawArgs };
  }
}

const CHARS_PER_TOKEN = 4;
/** Replies whose usage was estimated (their server sent none). */
const estimated = new WeakSet<AssistantMessage>();

/** Whether `message`'s usage is an estimate: its server sent no usage (see ReplyBuilder.finish). */
export function usageEstimated(message: AssistantMessage): boolean {
  return estimated.has(message);
}

const STOP_REASONS: Record<string, AssistantMessage['stopReason']> = {
  stop: 'stop',
  end: 'stop',
  length: 'length',
  tool_calls: 'toolUse',
  function_call: 'toolUse',
};

/**
 * Reads an SSE body line by line, handing each `data:` payload (parsed) to `onData`. No line may grow past
 * `maxLine` bytes: a server that sends megabytes without a newline is cut off there.
 */
async function readEvents(
  response: Response,
  maxLine: number,
  where: string,
  onData: (data: unknown) => Failed | undefined,
): Promise<Failed | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return { ok: false, reason: `${where} answered with no body`, retryable: true };
  const decoder = new TextDecoder();
  let pending = '';
  let data: string[] = [];
  const dispatch = (): Failed | undefined | 'done' => {
    if (data.length === 0) return undefined;
    const payload = data.join('\n');
    data = [];
    if (payload.trim() === '[DONE]') return 'done';
    let parsed: unknown;
    try {
      parsed = JSON.parse(payload);
    } catch {
      return { ok: false, reason: `${where} sent an event that is not JSON: ${payload.slice(0, 80)}`, retryable: true };
    }
    return onData(parsed);
  };
  let searchFrom = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      pending += done ? decoder.decode() : decoder.decode(value, { stream: true });
      let start = 0;
      // What was kept from the last read has no newline: search only what this read added.
      for (let nl = pending.indexOf('\n', searchFrom); nl !== -1; nl = pending.indexOf('\n', start)) {
        const line = pending.slice(start, nl).replace(/\r$/, '');
        start = nl + 1;
        let result: Failed | undefined | 'done';
        if (line === '') result = dispatch();
        else if (line.startsWith('data:')) data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        if (result === 'done') return undefined;
        if (result) return result;
      }
      pending = pending.slice(start);
      searchFrom = pending.length;
      if (pending.length > maxLine)
        return { ok: false, reason: `${where} sent an event-stream line over ${maxLine} bytes`, retryable: false };
      if (done) {
        if (pending.startsWith('data:')) data.push(pending.slice(pending.startsWith('data: ') ? 6 : 5));
        const result = dispatch();
        return result === 'done' ? undefined : result;
      }
    }
  } finally {
    // Stops the transfer when we leave early (a limit, an error event): the server sees the connection close.
    void reader.cancel().catch(() => undefined);
  }
}

/** The body as text, or undefined when it is over `max` bytes (with `truncate`: its first `max` bytes). */
async function readCapped(response: Response, max: number, truncate = false): Promise<string | undefined> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
      if (size > max) {
        if (!truncate) return undefined;
        break;
      }
    }
  } finally {
    void reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
