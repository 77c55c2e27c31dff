import type { JournalRecord } from '../../contract/services.ts';

/** One journal record as an SSE event: `id` is its seq, so a reconnecting client resumes with Last-Event-ID. */
export function recordFrame(record: JournalRecord): string {
  return `id: ${record.seq}\nevent: ${eventName(record.kind)}\ndata: ${JSON.stringify(record)}\n\n`;
}

/**
 * The marker a client gets when records were skipped: it fell too far behind, or asked for records the
 * journal no longer holds. Its id is the last skipped seq, so a reconnect does not ask for them again.
 */
export function gapFrame(from: number, to: number, reason: string): string {
  return `id: ${to}\nevent: gap\ndata: ${JSON.stringify({ from, to, skipped: to - from + 1, reason })}\n\n`;
}

// An event name ends at a newline; kinds never hold one, but a record is data from outside.
function eventName(kind: string): string {
  return kind.replace(/[\r\n:]/g, '_') || 'record';
}
