import { closeSync, fstatSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { createLogger, journalPriorityPrefix, writesToJournal } from './log.ts';
import { rateLimitedErrors } from './util/index.ts';

// rateLimitedErrors on a clock the test steps: lines counted for N events, no timing.

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'error' },
    { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  return { lines, log };
}

describe('rateLimitedErrors', () => {
  it('logs the first few per key at once, then a line per window with the count held back, not one per N', () => {
    const { lines, log } = capture();
    let now = 0;
    const report = rateLimitedErrors(log, { first: 3, intervalMs: 60_000, now: () => now });
    // 1 kHz for 10 s: the count-based limit (one in 1000) logged 10 more lines here, and one a second forever.
    for (let i = 0; i < 10_000; i++, now += 1) report('navigator /odom', { topic: '/odom' }, 'decode failed');
    report('recorder /scan', { topic: '/scan' }, 'decode failed'); // another key is not held back by the first
    expect(lines.filter((l) => l.topic === '/odom').map((l) => l.suppressed ?? null)).toEqual([null, null, null]);
    expect(lines.filter((l) => l.topic === '/scan')).toHaveLength(1);
    // A minute of it: one line, with what was held back (events 4 to 60,002, the 3rd having started the window).
    for (let i = 0; i < 60_000; i++, now += 1) report('navigator /odom', { topic: '/odom' }, 'decode failed');
    const odom = lines.filter((l) => l.topic === '/odom');
    expect(odom).toHaveLength(4);
    expect(odom[3]).toMatchObject({ msg: 'decode failed (repeats held back)', suppressed: 59_999 });
  });

  it('a key that goes quiet gets a summary of what was held back with the next report of any key, then is forgotten', () => {
    const { lines, log } = capture();
    let now = 0;
    const report = rateLimitedErrors(log, { first: 1, intervalMs: 1000, now: () => now });
    for (let i = 0; i < 5; i++) report('a', { key: 'a' }, 'a failed');
    now = 1000;
    report('b', { key: 'b' }, 'b failed');
    expect(lines.map((l) => [l.msg, l.suppressed ?? null])).toEqual([
      ['a failed', null],
      ['a failed (repeats held back)', 4],
      ['b failed', null],
    ]);
    now = 3000;
    report('a', { key: 'a' }, 'a failed'); // forgotten: logged at once, as a new problem
    expect(lines.at(-1)).toEqual(expect.objectContaining({ msg: 'a failed' }));
    expect(lines.at(-1)!.suppressed).toBeUndefined();
  });

  it('bounds the keys a peer can make: past maxKeys new keys share one overflow key until old ones go quiet', () => {
    const { lines, log } = capture();
    let now = 0;
    const report = rateLimitedErrors(log, { first: 1, maxKeys: 256, intervalMs: 60_000, now: () => now });
    // A peer publishing on 100,000 topics of its choosing, each failing a handler: without the bound,
    // 100,000 keys held (and 100,000 lines).
    for (let i = 0; i < 100_000; i++)
      report(`recorder /junk_${i}`, { topic: `/junk_${i}` }, 'subscriber handler failed; message skipped');
    expect(lines).toHaveLength(257);
    expect(lines.filter((l) => l.key_overflow !== undefined)).toHaveLength(1);
    expect(lines.at(-1)).toMatchObject({ topic: '/junk_256', key_overflow: expect.stringContaining('more than 256') });
    // A minute on, the quiet keys are forgotten: a real problem gets its own line at once again.
    now = 60_000;
    report('navigator /odom', { topic: '/odom' }, 'decode failed');
    expect(lines.filter((l) => l.topic === '/odom' && l.key_overflow === undefined)).toHaveLength(1);
  });
});

describe('log lines into journald', () => {
  /** A file standing for journald's stream: JOURNAL_STREAM names its device and inode, as systemd does. */
  function journalFile() {
    const dir = mkdtempSync(join(tmpdir(), 'journal-stream-'));
    const fd = openSync(join(dir, 'stream'), 'w');
    const { dev, ino } = fstatSync(fd);
    return {
      fd,
      stream: `${dev}:${ino}`,
      text: () => readFileSync(join(dir, 'stream'), 'utf8'),
      close: () => (closeSync(fd), rmSync(dir, { recursive: true })),
    };
  }

  it('knows the stream systemd named, and only it: another file, no variable or a garbled one is not the journal', () => {
    const journal = journalFile();
    const other = journalFile();
    try {
      expect(writesToJournal(journal.fd, journal.stream)).toBe(true);
      expect(writesToJournal(other.fd, journal.stream)).toBe(false);
      expect(writesToJournal(journal.fd, undefined)).toBe(false);
      expect(writesToJournal(journal.fd, 'not:a-stream')).toBe(false);
      expect(writesToJournal(9999, journal.stream)).toBe(false); // a closed descriptor
    } finally {
      journal.close();
      other.close();
    }
  });

  /** Runs `work` with JOURNAL_STREAM set to `stream`, as systemd sets it for a unit, then puts it back. */
  function withJournalStream(stream: string, work: () => void): void {
    const saved = process.env.JOURNAL_STREAM;
    process.env.JOURNAL_STREAM = stream;
    try {
      work();
    } finally {
      if (saved === undefined) delete process.env.JOURNAL_STREAM;
      else process.env.JOURNAL_STREAM = saved;
    }
  }

  it('leads each line with its syslog priority when it writes to journald, and leaves the JSON as it was', () => {
    const journal = journalFile();
    try {
      withJournalStream(journal.stream, () => {
        const log = createLogger({ level: 'debug', destination: journal.fd });
        log.debug('d');
        log.info('i');
        log.warn('w');
        log.error('e');
        log.fatal('f');
        const lines = journal.text().trimEnd().split('\n');
        expect(lines.map((l) => l.slice(0, 3))).toEqual(['<7>', '<6>', '<4>', '<3>', '<2>']);
        expect(lines.map((l) => (JSON.parse(l.slice(3)) as { msg: string }).msg)).toEqual(['d', 'i', 'w', 'e', 'f']);
      });
    } finally {
      journal.close();
    }
  });

  it('writes plain JSON lines to anything else, a terminal or a file, with JOURNAL_STREAM set or not', () => {
    const journal = journalFile();
    const file = journalFile();
    try {
      // Inherited from a unit, but this stderr is a file.
      withJournalStream(journal.stream, () => createLogger({ level: 'info', destination: file.fd }).warn('w'));
      expect(file.text().startsWith('{"level":40')).toBe(true);
    } finally {
      journal.close();
      file.close();
    }
  });

  it('leaves a line that does not start with a level alone', () => {
    expect(journalPriorityPrefix('{"msg":"x"}')).toBe('{"msg":"x"}');
    expect(journalPriorityPrefix('{"level":40,"msg":"x"}')).toBe('<4>{"level":40,"msg":"x"}');
  });
});
