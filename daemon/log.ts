import { fstatSync, writeSync } from 'node:fs';
import { pino, type Logger } from 'pino';
import { printable } from './util/index.ts';

export type { Logger } from 'pino';

/**
 * The daemon's logger: JSON lines on stderr (journald stores them; stdout is kept for command output). `text`: a
 * line a person reads instead (`auraison-edge: warning: ...`), for a command whose own summary shares the
 * terminal (`sim`), where a JSON line read as noise in it.
 */
export function createLogger(options: { level: string; name?: string; destination?: number; text?: boolean }): Logger {
  const { level, name = 'auraison-edge', destination = 2, text = false } = options;
  const toJournal = !text && writesToJournal(destination);
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
      // Straight into journald: each line leads with its syslog priority, which journald takes off and keeps as
      // the entry's PRIORITY, so `journalctl -p warning` finds the warnings and `-o cat` still prints pure JSON.
      ...(toJournal ? { streamWrite: journalPriorityPrefix } : {}),
    },
  };
  return pino(settings, text ? textLines(name, destination) : pino.destination({ dest: destination, sync: true }));
}

/**
 * Whether `fd` is the stream systemd connected to journald: systemd names that stream's device and inode in
 * JOURNAL_STREAM (systemd.exec(5)), so a daemon whose stderr was redirected elsewhere (a file, a pipe to a
 * launcher) is not mistaken for one writing to the journal.
 */
export function writesToJournal(fd: number, journalStream = process.env.JOURNAL_STREAM): boolean {
  const match = /^(\d+):(\d+)$/.exec(journalStream ?? '');
  if (!match) return false;
  try {
    const stat = fstatSync(fd, { bigint: true });
    return stat.dev === BigInt(match[1]!) && stat.ino === BigInt(match[2]!);
  } catch {
    return false;
  }
}

/** syslog's priority for a pino level: fatal 2 (crit), error 3, warn 4, info 6, debug and trace 7. */
export function syslogPriority(level: number): number {
  return level >= 60 ? 2 : level >= 50 ? 3 : level >= 40 ? 4 : level >= 30 ? 6 : 7;
}

/** A pino line with its `<priority>` prefix, as journald's SyslogLevelPrefix= reads it (sd-daemon(3)). */
export function journalPriorityPrefix(line: string): string {
  const level = /^\{"level":(\d+)/.exec(line);
  return level ? `<${syslogPriority(Number(level[1]))}>${line}` : line;
}

/** pino's JSON lines as `<name>: <level>: <msg>[: <err>]`, written at once to the file descriptor. */
function textLines(name: string, fd: number): { write: (line: string) => void } {
  return {
    write(line: string) {
      const entry = JSON.parse(line) as { level: number; msg?: string; err?: unknown };
      const label = entry.level >= 50 ? 'error' : entry.level >= 40 ? 'warning' : entry.level >= 30 ? 'info' : 'debug';
      const err = entry.err as { message?: unknown } | string | undefined;
      const why = typeof err === 'string' ? err : typeof err?.message === 'string' ? err.message : undefined;
      writeSync(fd, `${name}: ${label}: ${entry.msg ?? ''}${why ? `: ${why}` : ''}\n`);
    },
  };
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

/**
 * Writes to `log` a line a thread's own pino logger made (a JSON line posted to the main thread, as the stop threads
 * do), at its level with its fields; a line that is not one is logged as such, naming `who` sent it.
 */
export function relayThreadLog(log: Logger, text: string, who: string): void {
  try {
    const { level, msg, ...fields } = JSON.parse(text) as { level: number; msg: string };
    const method = level >= 50 ? 'error' : level >= 40 ? 'warn' : level >= 30 ? 'info' : 'debug';
    log[method](fields, msg);
  } catch {
    log.warn({ line: text }, `${who}: an unreadable log line`);
  }
}
