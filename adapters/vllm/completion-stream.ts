import type { AssistantMessage, AssistantMessageEvent, Context } from '@mariozechner/pi-ai';
import OpenAI from 'openai';
import { retryAfter } from './backoff.ts';
import { openaiClient } from './chat-client.ts';
import { errorText, redactUrl } from '../../daemon/util/index.ts';
import type { Endpoint } from './model.ts';
import { LINE_SLACK_BYTES, type ReplyLimits } from './reply-limits.ts';
import { ReplyBuilder, type Completion, type Failed } from './reply-builder.ts';
import { requestMessages } from './request-messages.ts';
import { withResponseSchema, type ResponseSchema } from './structured-output.ts';

export { usageEstimated, type Completion } from './reply-builder.ts';

export interface CompletionOptions {
  signal: AbortSignal;
  limits: ReplyLimits;
  responseSchema?: ResponseSchema;
  /** Response headers arrived. */
  onResponse?: () => void;
  /** A chunk carrying reply content arrived (for first-token and idle timeouts). */
  onContent?: () => void;
}

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
    const reason = errorText(error);
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
