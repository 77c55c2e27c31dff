export { bagInfo, formatBagInfo, formatSize, type BagInfo, type BagTopicInfo } from './bag-info.ts';
export { BagError } from './errors.ts';
export { BagTypeResolver, type Resolution } from './message-types.ts';
export {
  formatMetadata,
  METADATA_VERSION,
  NO_START,
  parseMetadata,
  type BagFileInfo,
  type BagMetadata,
  type BagTopic,
} from './metadata.ts';
export { locateBag, openBagFile, openStorageFile, type LocatedBag, type StorageId } from './open-bag.ts';
export { parseOfferedQos, qosProfilesText, qosProfileV9 } from './qos.ts';
export type { StorageFileReader, StorageMessage, StorageSummary, StorageTopic } from './storage-reader.ts';
export { decompressHandlers } from './decompress.ts';
export { emptyDb3, sqliteDamaged } from './file-check.ts';
export { MAGIC, type McapChannel, type McapSchema } from './mcap-records.ts';
export { recoverMcap, type McapDamage, type RecoveredRecord } from './mcap-recover.ts';
export { listedFiles, RETENTION_DELETED_KEY } from './metadata.ts';
export { naturalOrder, prepareStorage } from './open-bag.ts';
export { BagPlayer, NOT_SELECTED, type PlayStats } from './player.ts';
export { SqliteFileReader } from './sqlite-file-reader.ts';
export { recordingBagInfo } from './recording-bag-info.ts';
export { recordingFiles, recordingStem, type RecordingFiles } from './recording-files.ts';
export { readTopicWindow } from './topic-window.ts';
