import type { Logger } from 'pino';
import type { JournalHolder, JournalSyncHolder } from '../contract/index.ts';
import type { Component, ComponentHealth } from '../lifecycle/index.ts';
import type { DurableJournal } from './durable-journal.ts';
import { plausibleWallMs } from '../util/index.ts';

export interface JournalRetentionOptions {
  journal: DurableJournal;
  retainDays: number;
  maxBytes: number;
  components: ReadonlyMap<string, Component>;
  /** Health of every configured component, to tell a holder that failed from one that is not configured. */
  health: () => Record<string, ComponentHealth>;
  log: Logger;
  now?: () => bigint;
  /**
   * Components whose hold is only a JournalSyncHolder's (the central link): one that failed stops deletion
   * by age, not by max_mb, which its hold never bounded.
   */
  syncOnly?: ReadonlySet<string>;
}

/** The central link (daemon/components/central.ts) holds records by age only. */
const SYNC_ONLY: ReadonlySet<string> = new Set(['central']);

/**
 * One pass of journal retention. The journal may only lose what nobody still needs: it asks every running
 * component that holds journal records (JournalHolder) for the lowest seq it needs, and does nothing at all
 * while a configured component has failed (it might hold records it cannot tell us about).
 */
export function pruneJournal(
  options: JournalRetentionOptions,
): { segments: number; bytes: number; records: number } | { skipped: string } {
  const {
    journal,
    retainDays,
    maxBytes,
    components,
    health,
    log,
    now = () => BigInt(Date.now()) * 1_000_000n,
    syncOnly = SYNC_ONLY,
  } = options;
  const failedAll = Object.entries(health())
    .filter(([, h]) => h.state === 'failed')
    .map(([name]) => name);
  const failed = failedAll.filter((name) => !syncOnly.has(name));
  if (failed.length > 0)
    return { skipped: `component(s) ${failed.join(', ')} failed; they may still need old records` };
  let keepFrom = journal.lastSeq + 1;
  // Records not yet sent on (the central link's outbox) outlive retain_days, not max_mb: the disk comes first.
  // A central link that failed (a TLS file it cannot read) cannot say what it sent: none goes by age, and
  // max_mb still holds (else the journal would grow until the disk is full).
  let unsentFrom = failedAll.length > failed.length ? journal.firstSeq : journal.lastSeq + 1;
  for (const component of components.values()) {
    if (isJournalHolder(component)) {
      const hold = component.journalHold();
      if (hold !== undefined) keepFrom = Math.min(keepFrom, hold);
    }
    if (isJournalSyncHolder(component)) {
      const hold = component.journalSyncHold();
      if (hold !== undefined) unsentFrom = Math.min(unsentFrom, hold);
    }
  }
  // A robot without an RTC writes records stamped 1970 until NTP sets its clock. Such a time says nothing
  // about a record's age: by age, it is never old (max_mb still bounds the journal), and while the clock
  // itself is unset nothing is old. Else the first NTP sync would age out all that was written before it.
  const current = now();
  const ageKnown = plausibleWallMs(Number(current / 1_000_000n));
  const cutoff = current - BigInt(Math.round(retainDays * 86_400)) * 1_000_000_000n;
  let size = journal.sizeBytes;
  let droppedTo = 0;
  const result = journal.prune(keepFrom, (segment) => {
    const old =
      ageKnown &&
      plausibleWallMs(Number(segment.lastTs / 1_000_000n)) &&
      segment.lastTs < cutoff &&
      segment.lastSeq < unsentFrom;
    const drop = old || size > maxBytes;
    if (drop) {
      size -= segment.sizeBytes;
      droppedTo = segment.lastSeq;
    }
    return drop;
  });
  if (result.segments > 0) {
    const unsent = Math.max(0, droppedTo - unsentFrom + 1);
    if (unsent > 0)
      log.warn(
        { ...result, keepFrom, unsent },
        'journal retention deleted records central has not got: the journal was past journal.max_mb',
      );
    else log.info({ ...result, keepFrom }, 'journal retention deleted old segments');
  }
  return result;
}

export function isJournalHolder(value: unknown): value is JournalHolder {
  return typeof (value as JournalHolder | undefined)?.journalHold === 'function';
}

export function isJournalSyncHolder(value: unknown): value is JournalSyncHolder {
  return typeof (value as JournalSyncHolder | undefined)?.journalSyncHold === 'function';
}
