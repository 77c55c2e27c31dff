import type { SplitReply } from '../api/index.ts';
import type { CommandIO } from '../cli-kit/index.ts';
import { indexingExit, indexingText, parseWaitingArgs, recorderApi, shownPath, spanText } from './recorder-client.ts';

export const BAG_SPLIT_HELP = `  bag split [--no-wait] [--timeout S] [--url URL] [--token TOKEN] [--config FILE] [--json]
      Asks the running daemon's recorder to close the split it is writing now and go on in the next one
      (POST /recorder/split), as rosbag2's recorder service ~/split_bagfile does: what was recorded up to
      now is listed in its bag's metadata.yaml and, once indexed, in \`auraison-edge query\`, without
      waiting for recorder.split_max_duration_s or split_max_bytes. By default it waits until the
      lakehouse has indexed the split (at most --timeout S, default 30). Prints the closed split's path,
      messages and time span; nothing recorded since the last split closes nothing (exit 0). Exits 1 when
      the recorder is not recording (disk full, failed: the reason is printed), the indexing failed (it is
      retried), or no daemon answers; 3 when the split was closed but is not indexed yet (--timeout passed,
      or the lakehouse was restarting): a query right after would not see it.
`;

export async function bagSplit(argv: string[], io: CommandIO): Promise<number> {
  const { values, timeoutMs } = parseWaitingArgs(argv);
  // The reply may wait timeoutMs for the indexing; the split's own close (its last chunk, fsync) comes first.
  const api = await recorderApi('split', values, io, timeoutMs + 30_000);
  const reply = await api?.ask((client) =>
    client.post<SplitReply>('/recorder/split', { wait: !values['no-wait'], timeout_ms: timeoutMs }),
  );
  if (!reply) return 1;
  if (values.json) io.stdout(`${JSON.stringify(reply)}\n`);
  else io.stdout(`${splitText(reply, io.cwd)}\n`);
  return indexingExit(reply.indexing);
}

function splitText(reply: SplitReply, cwd: string): string {
  const { split, indexing } = reply;
  if (!split) return 'nothing was recorded in this bag yet: no split to close (recording goes on)';
  // Nothing since the last split (or another request closed it a moment ago): what it holds is what counts.
  if (split.closed_now === false)
    return `nothing was recorded since ${shownPath(split.file, cwd)} closed: no split to close (recording goes on)\n${indexingText(indexing)}`;
  const line = `closed ${shownPath(split.file, cwd)}: ${spanText(split)}; recording goes on in the next split`;
  return `${line}\n${indexingText(indexing)}`;
}
