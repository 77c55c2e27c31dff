import type { Logger } from 'pino';
import { LogBurst, withSuppressed } from './log-burst.ts';

/**
 * Logs a recurring error at a bounded rate per key, by time (a LogBurst): the first `first` occurrences of a
 * key at once, with their details, then at most one line per `intervalMs` carrying `suppressed` (how many
 * were held back since the last line); a key that goes quiet gets a summary line of what was held back with
 * its next sweep. A peer that sends garbage 1000 times a second costs a line a minute, not one a second; the
 * full count stays in the metrics.
 *
 * Keys may hold names a peer chooses (a topic), so at most `maxKeys` are tracked: a key quiet for a window
 * is forgotten, and while the set is full a new key shares one overflow key (its lines say `key_overflow`).
 */
export function rateLimitedErrors(
  log: Logger,
  options: { first?: number; intervalMs?: number; maxKeys?: number; now?: () => number } = {},
): (key: string, fields: Record<string, unknown>, message: string) => void {
  const { first = 5, intervalMs = 60_000, maxKeys = 256, now = () => performance.now() } = options;
  if (!Number.isInteger(first) || first < 1)
    throw new RangeError(`rateLimitedErrors: first must be an integer >= 1, got ${first}`);
  if (!Number.isInteger(maxKeys) || maxKeys < 1)
    throw new RangeError(`rateLimitedErrors: maxKeys must be an integer >= 1, got ${maxKeys}`);
  const burst = new LogBurst<string>({ intervalMs, now });
  /** Per key: its last fields and message (for a summary line), occurrences so far, and when its last line went out. */
  const keys = new Map<string, { fields: Record<string, unknown>; message: string; count: number; lineAt: number }>();
  let nextSweep = -Infinity;

  /** Logs a summary for each key whose window ended with something held back, and forgets the keys gone quiet. */
  const sweep = (t: number): void => {
    for (const [key, held] of burst.due()) {
      const entry = keys.get(key);
      if (!entry) continue;
      entry.lineAt = t;
      log.error({ ...entry.fields, suppressed: held }, `${entry.message} (repeats held back)`);
    }
    nextSweep = Infinity;
    for (const [key, entry] of keys) {
      if (t - entry.lineAt >= intervalMs) {
        burst.flush(key); // nothing held: due() just reported whatever was
        keys.delete(key);
      } else nextSweep = Math.min(nextSweep, entry.lineAt + intervalMs);
    }
  };

  return (key, fields, message) => {
    const t = now();
    if (t >= nextSweep) sweep(t);
    if (!keys.has(key) && key !== OVERFLOW_KEY && keys.size >= maxKeys + (keys.has(OVERFLOW_KEY) ? 1 : 0)) {
      fields = {
        ...fields,
        key_overflow: `more than ${maxKeys} distinct problems at once: the rest share this line's rate`,
      };
      key = OVERFLOW_KEY;
    }
    let entry = keys.get(key);
    if (!entry) keys.set(key, (entry = { fields, message, count: 0, lineAt: t }));
    entry.fields = fields;
    entry.message = message;
    entry.count++;
    nextSweep = Math.min(nextSweep, t + intervalMs);
    // The first ones at once; the last of them starts the key's window.
    const held = entry.count < first ? 0 : burst.take(key);
    if (held === undefined) return;
    entry.lineAt = t;
    log.error(withSuppressed(fields, held), message);
  };
}

/** The key a new problem shares while rateLimitedErrors' key set is full (no caller's key starts with NUL). */
const OVERFLOW_KEY = '\u0000overflow';
