import { MAX_TIMEOUT_MS, type Bus } from '../bus/index.ts';
import type { BusMessage } from '../bus/index.ts';
import { nowNs } from '../util/index.ts';

/**
 * The next message on `topic` (a latched one at once), or a rejection naming the topic after `timeoutMs`
 * (from 1 to 2^31-1: Node fires a longer timer after 1 ms).
 */
export async function nextMessage(
  bus: Bus,
  topic: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<BusMessage> {
  const [msg] = await nextMessages(bus, topic, 1, timeoutMs, signal);
  return msg!;
}

/**
 * The next `count` messages on `topic`, in order (a latched one first, at once), or a rejection naming the topic
 * when one does not come within `timeoutMs` of the one before (from 1 to 2^31-1: Node fires a longer timer after
 * 1 ms). A slow topic is read whole; a fast one is not read faster than its messages come.
 */
export function nextMessages(
  bus: Bus,
  topic: string,
  count: number,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<BusMessage[]> {
  if (!(timeoutMs >= 1 && timeoutMs <= MAX_TIMEOUT_MS))
    return Promise.reject(
      new RangeError(`reading ${topic}: the timeout must be from 1 to ${MAX_TIMEOUT_MS} ms, got ${timeoutMs}`),
    );
  return new Promise((resolve, reject) => {
    const got: BusMessage[] = [];
    let done = false;
    const finish = (error: Error | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      // Unsubscribing inside the handler is safe: the bus only drains the queue of open subscriptions.
      queueMicrotask(() => bus.unsubscribe(sub));
      if (error) reject(error);
      else resolve(got);
    };
    const onAbort = () => finish(new Error(`reading ${topic} was cancelled`));
    const late = () => {
      const type = bus.topicType(topic);
      const which = count === 1 ? 'no message' : `message ${got.length + 1} of ${count} did not come`;
      finish(
        new Error(`${which} on ${topic} within ${timeoutMs} ms${type ? '' : ' (nothing has published on it yet)'}`),
      );
    };
    let timer = setTimeout(late, timeoutMs);
    signal?.addEventListener('abort', onAbort, { once: true });
    const sub = bus.subscribe({
      name: 'agent',
      topic,
      // Every one of the `count` is kept: a burst must not drop the messages asked for.
      queue: { policy: 'drop-oldest', depth: count },
      handler: (msg) => {
        if (done) return;
        got.push(msg);
        clearTimeout(timer);
        if (got.length >= count) finish(undefined);
        else timer = setTimeout(late, timeoutMs);
      },
    });
  });
}

/**
 * The latest message on `topic` the bus holds (Bus.retainLatest, from the first read of the topic on; a latched
 * topic's from before), with its age, or undefined when it holds none. Keeps the topic's latest from now on.
 */
export function latestMessage(bus: Bus, topic: string): { msg: BusMessage; ageMs: number } | undefined {
  const msg = bus.retainLatest(topic)();
  return msg && { msg, ageMs: Number(nowNs() - msg.logTime) / 1e6 };
}

/** Array statistics are exact up to this many items; past it they are taken over a stride, so time stays bounded. */
const MAX_STAT_ITEMS = 1 << 20;
/** Items shown before a summarized array's statistics. */
const SHOWN_ITEMS = 8;

/**
 * A decoded message as JSON the model can read, within `maxChars`: bigints become strings, long numeric
 * arrays (ranges, image data) become statistics, long strings are cut. Big messages keep their shape.
 *
 * `cdrBytes` (the message's size on the bus) decides before anything is built: the full JSON of a message
 * is only made when its CDR fits in `maxChars`, where it stays small (a byte is at most a few characters).
 * Larger messages go straight to the summary, which reads typed arrays in place and visits at most
 * MAX_STAT_ITEMS of each, so a 100 MiB image costs no copy and no long stall of the event loop.
 */
export function summarize(value: unknown, maxChars: number, cdrBytes: number): { value: unknown; summarized: boolean } {
  if (cdrBytes <= maxChars) {
    const full = toJson(value, Infinity, Infinity);
    if (JSON.stringify(full).length <= maxChars) return { value: full, summarized: false };
  }
  const plain = toJson(value, 16, 200);
  const text = JSON.stringify(plain);
  if (text.length <= maxChars) return { value: plain, summarized: true };
  return {
    value: { truncated_json: `${text.slice(0, maxChars - 40)}...`, summary_chars: text.length, cdr_bytes: cdrBytes },
    summarized: true,
  };
}

function toJson(value: unknown, maxItems: number, maxString: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'string')
    return value.length > maxString ? `${value.slice(0, maxString)}... (${value.length} chars)` : value;
  if (value === null || typeof value !== 'object') return value;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const items = value as unknown as ArrayLike<number | bigint>;
    const numeric = typeof items[0] !== 'bigint';
    if (items.length > maxItems && numeric) return numberStats(items as ArrayLike<number>, maxItems, maxString);
    return shown(items, maxItems, maxString);
  }
  if (Array.isArray(value)) {
    if (value.length > maxItems && value.every((v) => typeof v === 'number'))
      return numberStats(value as number[], maxItems, maxString);
    return shown(value, maxItems, maxString);
  }
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJson(v, maxItems, maxString)]));
}

/** The first `maxItems` items as JSON, and how many more there are. */
function shown(items: ArrayLike<unknown>, maxItems: number, maxString: number): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < items.length && i < maxItems; i++) out.push(toJson(items[i], maxItems, maxString));
  if (items.length > maxItems) out.push(`... ${items.length - maxItems} more`);
  return out;
}

/**
 * count/finite/min/max/mean of a numeric array, read in place; over a stride past MAX_STAT_ITEMS (then `stride` says
 * so).
 */
function numberStats(items: ArrayLike<number>, maxItems: number, maxString: number): Record<string, unknown> {
  const stride = Math.ceil(items.length / MAX_STAT_ITEMS);
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let finite = 0;
  let visited = 0;
  for (let i = 0; i < items.length; i += stride) {
    visited++;
    const v = items[i]!;
    if (!Number.isFinite(v)) continue;
    finite++;
    sum += v;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const first: unknown[] = [];
  for (let i = 0; i < items.length && i < SHOWN_ITEMS; i++) first.push(toJson(items[i], maxItems, maxString));
  const stats: Record<string, unknown> = {
    count: items.length,
    finite,
    min: finite ? min : null,
    max: finite ? max : null,
    mean: finite ? sum / finite : null,
    first,
  };
  if (stride > 1) Object.assign(stats, { stride, sampled: visited });
  return stats;
}
