import type { AssistantMessage, TextContent, ThinkingContent, ToolCall } from '@mariozechner/pi-ai';
import { reasoningOf } from './chat-client.ts';
import type { Endpoint } from './model.ts';
import type { ReplyLimits } from './reply-limits.ts';

export type Completion =
  | { ok: true; message: AssistantMessage; rawArgs: Map<number, string> }
  | { ok: false; reason: string; retryable: boolean; retryAfterMs?: number };

export type Failed = Extract<Completion, { ok: false }>;

interface CallDraft {
  index: number;
  id: string;
  name: string;
  args: string;
  bytes: number;
}

/** Accumulates a reply's chunks, measuring as it goes. */
export class ReplyBuilder {
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
    // token), since counting 0 would leave agent.rules.quotas.max_tokens never reached.
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
