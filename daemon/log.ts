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
