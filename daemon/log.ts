import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/** The daemon's logger: JSON lines on stderr (journald stores them; stdout is kept for command output). */
export function createLogger(options: { level: string; name?: string; destination?: number }): Logger {
  const { level, name = 'auraison-edge', destination = 2 } = options;
  return pino({ name, level, base: { pid: process.pid } }, pino.destination({ dest: destination, sync: true }));
}

/** A logger that drops everything, for tests and commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Logs a recurring error at a bounded rate per key: the first `first` occurrences, then one in `every`,
 * each saying how many were left out. A peer that sends garbage 100 times a second must not flood journald;
 * the full count stays in the metrics.
 */
export function rateLimitedErrors(log: Logger, options: { first?: number; every?: number } = {}): (key: string, fields: Record<string, unknown>, message: string) => void {
  const { first = 5, every = 1000 } = options;
  const seen = new Map<string, number>();
  return (key, fields, message) => {
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    if (n <= first) log.error(fields, message);
    else if ((n - first) % every === 0) log.error({ ...fields, occurrences: n, suppressed: every - 1 }, `${message} (repeated; logging one in ${every})`);
  };
}
