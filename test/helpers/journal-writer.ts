// A child process for the kill -9 test: appends records as fast as it can and prints each acknowledged seq.
import { DurableJournal } from '../../daemon/journal/durable-journal.ts';

const dir = process.argv[2]!;
const journal = new DurableJournal({ dir, fsync: 'always', segmentBytes: 64 * 1024 });
for (;;) {
  const record = await journal.append('agent_event', { text: 'x'.repeat(100 + (journal.lastSeq % 50)) });
  process.stdout.write(`${record.seq}\n`);
}
