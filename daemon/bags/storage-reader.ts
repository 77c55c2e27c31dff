/** A topic as one storage file declares it (an MCAP channel, a row of a .db3 `topics` table). */
export interface StorageTopic {
  name: string;
  type: string;
  serializationFormat: string;
  /** As stored: a YAML string, or '' when the file has none. */
  offeredQosProfiles: unknown;
  typeDescriptionHash: string;
  /** The message definition the file carries for the type, when it has one. */
  schema?: { encoding: string; text: string };
}

/** One stored message. `offset` locates it: the byte offset of its chunk (MCAP) or its row id (.db3). */
export interface StorageMessage {
  topic: string;
  logTime: bigint;
  publishTime: bigint;
  data: Uint8Array;
  offset: bigint;
}

/** What a storage file's own index says, without reading every message. */
export interface StorageSummary {
  messageCount: number;
  startNs: bigint | undefined;
  endNs: bigint | undefined;
  topics: (StorageTopic & { messageCount: number })[];
}

/**
 * Reads one storage file of a bag. Callers must finish or abandon one `messages()` iteration before
 * starting another, and call `close()` when done.
 */
export interface StorageFileReader {
  readonly path: string;
  readonly storage: 'mcap' | 'sqlite3';
  /** Topics seen so far: all of them for .db3; for MCAP, those whose channel records were read. */
  topics(): Map<string, StorageTopic>;
  /** The file's summary, or undefined when it has no usable index (then count by reading messages). */
  summary(): Promise<StorageSummary | undefined>;
  /** Every message in file order. Throws BagError on a truncated or corrupt file. */
  messages(): AsyncGenerator<StorageMessage>;
  /** The same messages, several at a time (an MCAP chunk's), for readers that go through millions. */
  batches(): AsyncGenerator<StorageMessage[]>;
  close(): Promise<void>;
}
