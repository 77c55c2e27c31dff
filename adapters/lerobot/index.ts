export { readLeRobotDataset } from './dataset/dataset-reader.ts';
export { formatDatasetSummary } from './dataset/format-summary.ts';
export { exportLakehouseToLeRobot, parseFeatureMapping } from './dataset/lakehouse-export.ts';
export { readMarkedEpisodes, marksText } from './dataset/episode-marks.ts';
export { replayPolicy } from './policy-replay.ts';
export { VideoFrameReader, VideoDecodeError, readEpisodeFrames, type VideoFrame } from './dataset/video-frames.ts';
