import { exponentialBackoff, plausibleWallMs } from '../../daemon/util/index.ts';

/** Delay before retry `attempt` (1-based): exponential from `baseMs`, capped, with up to 25 % jitter, whole ms. */
export function backoffDelay(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return Math.round(exponentialBackoff(attempt - 1, { firstMs: baseMs, maxMs, jitter: 0.25, random }));
}

/**
 * Whether a failure is worth retrying on the same endpoint: connection trouble, timeouts, 5xx and 429
 * are; other 4xx (bad request, bad key, unknown model) will fail the same way again.
 */
export function isRetryable(message: string): boolean {
  const status = /^(\d{3})\b/.exec(message.trim());
  if (!status) return true;
  const code = Number(status[1]);
  return code >= 500 || code === 429 || code === 408 || code === 409;
}

/**
 * Whether the endpoint refused this request as bad (400, 413, 422: a transcript past the model's context, a
 * schema it cannot compile), rather than failed: another request may well go through, so the endpoint is
 * not cooled down for it. A refusal of the daemon itself (401, 403, 404: a bad key, an unknown model)
 * holds for every request: that one still cools the endpoint down.
 */
export function isRequestFault(message: string): boolean {
  return /^(400|413|422)\b/.test(message.trim());
}

/**
 * `Retry-After` in ms: delta-seconds or an HTTP date; undefined when absent or unreadable. A date is taken
 * relative to the response's own `Date` (both the server's clock), not to this machine's clock: a robot
 * without an RTC reads 1970 until NTP syncs, which made a date 56 years away. Without a `Date` header it is
 * read against this clock, and ignored while that clock is not set.
 */
export function retryAfter(headers: Headers | undefined, nowWallMs = Date.now()): number | undefined {
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  const sent = Date.parse(headers?.get('date') ?? '');
  if (!Number.isNaN(sent)) return Math.max(0, date - sent);
  return plausibleWallMs(nowWallMs) ? Math.max(0, date - nowWallMs) : undefined;
}
