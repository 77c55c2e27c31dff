import { NO_START, type BagFileInfo, type BagMetadata, type BagTopic } from '../bags/index.ts';

/**
 * A bag's metadata.yaml (rosbag2 version 9) from its splits and topics: the bag's time span is that of the splits
 * with messages. The writer and the repair of a cut bag both describe a bag with it.
 */
export function bagMetadata(
  files: BagFileInfo[],
  topics: BagTopic[],
  { customData, rosDistro }: { customData: Record<string, string>; rosDistro: string },
): BagMetadata {
  const withMessages = files.filter((f) => f.messageCount > 0);
  const start =
    withMessages.length > 0
      ? withMessages.reduce((m, f) => (f.startingTimeNs < m ? f.startingTimeNs : m), withMessages[0]!.startingTimeNs)
      : NO_START;
  const end = withMessages.reduce(
    (m, f) => (f.startingTimeNs + f.durationNs > m ? f.startingTimeNs + f.durationNs : m),
    0n,
  );
  return {
    version: 9,
    storageIdentifier: 'mcap',
    durationNs: withMessages.length > 0 ? end - start : 0n,
    startingTimeNs: start,
    messageCount: files.reduce((n, f) => n + f.messageCount, 0),
    topics,
    compressionFormat: '',
    compressionMode: '',
    relativeFilePaths: files.map((f) => f.path),
    files: files.map((f) => ({ ...f })),
    customData,
    rosDistro,
  };
}
