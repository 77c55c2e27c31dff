// The query process (see QueryProcess): runs streamLakehouse for the daemon, every thread of it lowered first, and
// exits when the daemon closes the channel or goes away.
import { lowerProcess } from '../util/index.ts';
import { streamLakehouse } from './query.ts';
import { QUERY_PRIORITY, type FromQueryChild, type ToQueryChild } from './query-process.ts';

/** Rows sent to the daemon in one message: fewer messages, while a batch stays small beside max_bytes. */
const ROWS_PER_MESSAGE = 256;

const running = new Map<number, AbortController>();
// With a callback, a send after the daemon went away fails quietly (there is no one to answer); without one, its
// 'error' event would end this process with a stack trace.
const send = (message: FromQueryChild) => process.connected && process.send!(message, undefined, {}, () => {});

// Before DuckDB starts a thread: its threads, and the libuv threads its calls run on, inherit this.
send({ op: 'lowered', scheduling: lowerProcess(QUERY_PRIORITY) });

process.on('message', (message: ToQueryChild) => {
  if (message.op === 'cancel') return running.get(message.id)?.abort();
  void run(message);
});
process.on('disconnect', () => process.exit(0));

async function run({ id, dataDir, sql, restartable, options }: Extract<ToQueryChild, { op: 'query' }>) {
  const stop = new AbortController();
  running.set(id, stop);
  let rows: unknown[][] = [];
  const flush = () => {
    if (rows.length > 0) send({ op: 'rows', id, rows });
    rows = [];
  };
  try {
    const summary = await streamLakehouse(
      dataDir,
      sql,
      {
        restartable,
        start: (columns, warnings) => {
          rows = []; // a restart takes back what was not sent yet, as the daemon's sink takes back the rest
          send({ op: 'start', id, columns, warnings });
        },
        row: (row) => {
          rows.push(row);
          if (rows.length === ROWS_PER_MESSAGE) flush();
        },
      },
      { ...options, signal: stop.signal },
    );
    flush();
    send({ op: 'done', id, summary });
  } catch (error) {
    const { name, message } = error as Error;
    send({ op: 'error', id, name, message });
  } finally {
    running.delete(id);
  }
}
