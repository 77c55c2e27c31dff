export { BagWriter, DROPS_KEY, RETENTION_DELETED_KEY, type BagWriterOptions } from './bag-writer.ts';
export { loadCompressor, type ChunkCompression, type Compressor } from './chunk-compression.ts';
export { McapSegmentWriter, type McapSegmentWriterOptions } from './mcap-segment-writer.ts';
export { Recorder, RECORDING_MARKER, type RecorderOptions, type RecorderSettings } from './recorder.ts';
export { repairBag, type BagRepair, type FileRepair } from './repair.ts';
export { fsSegmentIO, type FreeSpace, type SegmentFile, type SegmentIO } from './segment-io.ts';
export { MIN_FREE_INODES } from './recording-state.ts';
export { tempName } from './segment-io.ts';
export { Snapshotter } from './snapshot.ts';
