import type { OutgoingHttpHeaders } from 'node:http';
import type { JournalRecord } from '../../contract/index.ts';

/** The header that tells a client how often the stream sends at least a `: ping` comment. */
export const HEARTBEAT_HEADER = 'x-heartbeat-ms';

/**
 * The response headers of an event stream. `x-heartbeat-ms` lets a client tell a live stream from a
 * silent one (a hung daemon, a network gone without a FIN): nothing for a few heartbeats means stale.
 */
export function sseHeaders(heartbeatMs: number): OutgoingHttpHeaders {
  return {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    [HEARTBEAT_HEADER]: String(Math.round(heartbeatMs)),
  };
}

/** The comment line a stream sends when it has nothing else to send. */
export const PING_FRAME = ': ping\n\n';

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
