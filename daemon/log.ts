import { pino, type Logger } from 'pino';
import { printable } from './util/index.ts';

export type { Logger } from 'pino';

/** The daemon's logger: JSON lines on stderr (journald stores them; stdout is kept for command output). */
export function createLogger(options: { level: string; name?: string; destination?: number }): Logger {
  const { level, name = 'auraison-edge', destination = 2 } = options;
  const settings = {
    name,
    level,
    base: { pid: process.pid },
    // What a peer sent (a stop's reason, a topic name, a model's reply) is logged through the one escaping
    // function the CLI uses: JSON escapes ESC already, not DEL, the C1 controls or U+2028.
    formatters: { log: (object: Record<string, unknown>) => printableFields(object, 3) as Record<string, unknown> },
    hooks: {
      logMethod(this: Logger, args: Parameters<Logger['info']>, method: (...a: unknown[]) => void) {
        method.apply(
          this,
          args.map((a) => (typeof a === 'string' ? printable(a, { keepLines: true }) : a)),
        );
      },
    },
  };
  return pino(settings, pino.destination({ dest: destination, sync: true }));
}

/** Every string in a log line's fields, `depth` levels down, made printable (see printable). */
function printableFields(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return printable(value, { keepLines: true });
  if (depth === 0 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => printableFields(v, depth - 1));
  if (Object.getPrototypeOf(value) !== Object.prototype) return value; // an Error, a Buffer: pino serializes those
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = printableFields(v, depth - 1);
  return out;
}

/** A logger that drops everything, for tests and commands that print their own output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
