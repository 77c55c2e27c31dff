import { join } from 'node:path';
import {
  NO_START,
  parseMetadata,
  RETENTION_DELETED_KEY,
  type BagFileInfo,
  type BagMetadata,
  type BagTopic,
} from '../bags/index.ts';
import type { SegmentIO } from './segment-io.ts';

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

/** The splits a bag's metadata.yaml says retention deleted (it may list some its writer has not missed yet). */
export async function retentionNote(io: SegmentIO, dir: string): Promise<string[]> {
  const path = join(dir, 'metadata.yaml');
  try {
    const text = await io.readText(path);
    const note = text === undefined ? undefined : parseMetadata(text, path).customData[RETENTION_DELETED_KEY];
    return note ? note.split(',').filter(Boolean) : [];
  } catch {
    return []; // an unreadable metadata.yaml is rewritten by its writer; the splits it missed are noted anyway
  }
}
