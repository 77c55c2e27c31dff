/** Delay before retry `attempt` (1-based): exponential from `baseMs`, capped, with up to 25 % jitter. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, baseMs * 2 ** (attempt - 1));
  return Math.round(exp * (0.75 + 0.25 * random()));
}

/** Resolves after `ms`, or rejects at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new Error('aborted'));
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(new Error('aborted'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
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
