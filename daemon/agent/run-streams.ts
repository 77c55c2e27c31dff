import { createAssistantMessageEventStream, type AssistantMessage, type Message } from '@mariozechner/pi-ai';
import type { LiveRun } from './live-run.ts';
import type { ModelService } from './model-service.ts';

// The stream functions a run wraps around its model's: each changes one thing about what pi's loop reads.

/** Once a run ended (cancelled, timed out, the daemon stopping), pi's loop must not reach the model again. */
export function closedGuard(live: LiveRun, next: ModelService['streamFn']): ModelService['streamFn'] {
  return (model, context, options) => {
    if (!live.closed) return next(model, context, options);
    const stream = createAssistantMessageEventStream();
    const message: AssistantMessage = {
      role: 'assistant',
      content: [],
      api: model.api,
      provider: model.provider,
      model: model.id,
      usage: {
        input: 0,
        output: 0,
        cacheRead: 0,
        cacheWrite: 0,
        totalTokens: 0,
        cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0, total: 0 },
      },
      stopReason: 'aborted',
      errorMessage: 'the run ended',
      timestamp: Date.now(),
    };
    queueMicrotask(() => {
      stream.push({ type: 'error', reason: 'aborted', error: message });
      stream.end(message);
    });
    return stream;
  };
}

/**
 * Gives every tool call the model makes an id no other call of the run has. A run knows its calls by id:
 * which one a person approved, which ones ran before a restart (replayed, not run again). A server that
 * sends no id (named by its index, `call_0`, in every turn), or a model that writes its own (Kimi-K2's
 * `functions.navigate_to:0`), would have a later call taken for an approved or finished one: run without
 * approval, or answered with the old result. Renamed before pi reads the message: this reaction to the
 * reply is registered before pi's own.
 */
export function uniqueCallIds(
  transcript: readonly Message[],
  next: ModelService['streamFn'],
): ModelService['streamFn'] {
  const seen = new Set<string>();
  for (const m of transcript)
    if (m.role === 'assistant') for (const c of m.content) if (c.type === 'toolCall') seen.add(c.id);
  return (model, context, options) => {
    const stream = next(model, context, options);
    void stream.result().then((message) => {
      for (const block of message.content) {
        if (block.type !== 'toolCall') continue;
        if (block.id && !seen.has(block.id)) {
          seen.add(block.id);
          continue;
        }
        let n = seen.size;
        while (seen.has(`call_${n}`)) n++;
        block.id = `call_${n}`;
        seen.add(block.id);
      }
    });
    return stream;
  };
}

/** A stream function that answers the first request with a recorded message, then asks the model. */
export function replayFirst(message: AssistantMessage, next: ModelService['streamFn']): ModelService['streamFn'] {
  let replayed = false;
  return (model, context, options) => {
    if (replayed) return next(model, context, options);
    replayed = true;
    const stream = createAssistantMessageEventStream();
    queueMicrotask(() => {
      stream.push({ type: 'start', partial: message });
      stream.push({ type: 'done', reason: 'toolUse', message });
      stream.end(message);
    });
    return stream;
  };
}
