import type { Bus } from '../bus/bus.ts';
import type { BusMessage } from '../bus/types.ts';

/** The next message on `topic` (a latched one at once), or a rejection naming the topic after `timeoutMs`. */
export function nextMessage(bus: Bus, topic: string, timeoutMs: number, signal?: AbortSignal): Promise<BusMessage> {
  return new Promise((resolve, reject) => {
    let done = false;
    const finish = (error: Error | undefined, msg?: BusMessage) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Unsubscribing inside the handler is safe: the bus only drains the queue of open subscriptions.
      queueMicrotask(() => bus.unsubscribe(sub));
      if (error) reject(error);
      else resolve(msg!);
    };
    const onAbort = () => finish(new Error(`reading ${topic} was cancelled`));
    const timer = setTimeout(() => {
      const type = bus.topicType(topic);
      finish(new Error(`no message on ${topic} within ${timeoutMs} ms${type ? '' : ' (nothing has published on it yet)'}`));
    }, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const sub = bus.subscribe({ name: 'agent', topic, queue: { policy: 'keep-latest' }, handler: (msg) => finish(undefined, msg) });
  });
}

/**
 * A decoded message as JSON the model can read, within `maxChars`: bigints become strings, long numeric
 * arrays (ranges, image data) become statistics, long strings are cut. Big messages keep their shape.
 */
export function summarize(value: unknown, maxChars: number): { value: unknown; summarized: boolean } {
  const plain = toJson(value, 16, 200);
  const full = toJson(value, Infinity, Infinity);
  const fullText = JSON.stringify(full);
  if (fullText.length <= maxChars) return { value: full, summarized: false };
  const text = JSON.stringify(plain);
  if (text.length <= maxChars) return { value: plain, summarized: true };
  return { value: { truncated_json: `${text.slice(0, maxChars - 40)}...`, original_chars: fullText.length }, summarized: true };
}

function toJson(value: unknown, maxItems: number, maxString: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string') return value.length > maxString ? `${value.slice(0, maxString)}... (${value.length} chars)` : value;
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) || Array.isArray(value)) {
    const items = ArrayBuffer.isView(value) ? Array.from(value as unknown as ArrayLike<number | bigint>) : (value as unknown[]);
    if (items.length > maxItems && items.every((v) => typeof v === 'number')) {
      let min = Infinity;
      let max = -Infinity;
      let sum = 0;
      let finite = 0;
      for (const v of items as number[]) {
        if (!Number.isFinite(v)) continue;
        finite++;
        sum += v;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const first = (items as number[]).slice(0, 8).map((v) => toJson(v, maxItems, maxString));
      return { count: items.length, finite, min: finite ? min : null, max: finite ? max : null, mean: finite ? sum / finite : null, first };
    }
    const shown = items.slice(0, maxItems).map((v) => toJson(v, maxItems, maxString));
    return items.length > maxItems ? [...shown, `... ${items.length - maxItems} more`] : shown;
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v, maxItems, maxString)]));
}
