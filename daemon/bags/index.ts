export { bagInfo, formatBagInfo, formatSize, type BagInfo, type BagTopicInfo } from './bag-info.ts';
export { BagError } from './errors.ts';
export { BagTypeResolver, type Resolution } from './message-types.ts';
export { formatMetadata, METADATA_VERSION, NO_START, parseMetadata, type BagFileInfo, type BagMetadata, type BagTopic } from './metadata.ts';
export { locateBag, openStorageFile, type LocatedBag, type StorageId } from './open-bag.ts';
export { parseOfferedQos, qosProfilesText, qosProfileV9 } from './qos.ts';
export type { StorageFileReader, StorageMessage, StorageSummary, StorageTopic } from './storage-reader.ts';
