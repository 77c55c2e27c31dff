import { McapFileReader } from './mcap-file-reader.ts';
import { openBagFile, type LocatedBag } from './open-bag.ts';
import type { StorageMessage, StorageTopic } from './storage-reader.ts';

/**
 * The messages of one topic in one storage file of a bag, with log times in [startNs, endNs], in log-time order,
 * each with its topic as the file declares it (type and schema). An indexed MCAP file is read through its chunk
 * index (only the chunks in the window); any other file (a .db3, a cut-off MCAP, one whose messages were
 * compressed one by one) is read through, in log-time order as bag play reads it, and filtered.
 */
export async function* readTopicWindow(
  bag: LocatedBag,
  file: string,
  topic: string,
  startNs: bigint,
  endNs: bigint,
): AsyncGenerator<{ message: StorageMessage; topic: StorageTopic }> {
  const reader = await openBagFile(bag, file);
  try {
    const indexed = reader instanceof McapFileReader ? await reader.indexedWindow([topic], startNs, endNs) : undefined;
    if (indexed) {
      for await (const message of indexed) yield { message, topic: reader.topics().get(topic)! };
      return;
    }
    const batches = (reader instanceof McapFileReader ? await reader.logTimeOrdered() : undefined) ?? reader.batches();
    for await (const batch of batches)
      for (const message of batch)
        if (message.topic === topic && message.logTime >= startNs && message.logTime <= endNs)
          yield { message, topic: reader.topics().get(topic)! };
  } finally {
    await reader.close();
  }
}
