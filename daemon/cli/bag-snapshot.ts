import type { SnapshotReply } from '../api/index.ts';
import type { CommandIO } from '../cli-kit/index.ts';
import { indexingExit, indexingText, parseWaitingArgs, recorderApi, shownPath, spanText } from './recorder-client.ts';

export const BAG_SNAPSHOT_HELP = `  bag snapshot [--no-wait] [--timeout S] [--url URL] [--token TOKEN] [--config FILE] [--json]
      Asks the running daemon to write what its snapshot buffer holds to a new bag (POST
      /recorder/snapshot), as rosbag2's \`ros2 bag record --snapshot-mode\` and its ~/snapshot service do:
      the last recorder.snapshot.max_duration_s of the selected topics (at most max_bytes), latched topics'
      last message (/map, /tf_static) included whatever its age, in <data_dir>/bags/snapshot_<date>-<time>
      (one MCAP split: \`bag info\`, \`bag play\`). The buffer is recorder.snapshot.enabled, with or without
      recorder.enabled, and is not emptied: each snapshot holds the whole window before it. A request while
      a snapshot is being written gets that one. By default it waits until the lakehouse has indexed the bag
      (at most --timeout S, default 30). Prints the bag, its messages, time span and topics; an empty
      buffer writes nothing (exit 0). Exits 1 when the snapshot buffer is not enabled, the disk is full
      (the buffer is kept: free space and ask again), the indexing failed, or no daemon answers; 3 when the
      bag is written but not indexed yet.
`;

export async function bagSnapshot(argv: string[], io: CommandIO): Promise<number> {
  const { values, timeoutMs } = parseWaitingArgs(argv);
  // The reply waits for the bag to be written (256 MiB by default: seconds) and then up to timeoutMs for its indexing.
  const api = await recorderApi('snapshot', values, io, timeoutMs + 120_000);
  const reply = await api?.ask((client) =>
    client.post<SnapshotReply>('/recorder/snapshot', { wait: !values['no-wait'], timeout_ms: timeoutMs }),
  );
  if (!reply) return 1;
  if (values.json) io.stdout(`${JSON.stringify(reply)}\n`);
  else io.stdout(`${snapshotText(reply, io.cwd)}\n`);
  return indexingExit(reply.indexing);
}

function snapshotText(reply: SnapshotReply, cwd: string): string {
  const { snapshot: s, indexing } = reply;
  if (!s)
    return 'the snapshot buffer holds no message yet (no selected topic has published since it started): no bag written';
  const topics = Object.entries(s.topics)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([topic, n]) => `  ${topic}: ${n}`);
  const lines = [
    `${s.joined ? 'a snapshot was being written when asked: ' : ''}wrote ${shownPath(s.bag, cwd)}: ${spanText(s)}`,
    ...topics,
  ];
  const said = indexingText(indexing);
  if (said) lines.push(said);
  return lines.join('\n');
}
