export { ActionChunker } from './action-chunker.ts';
export { compileCommand, type CommandBuilder } from './action-command.ts';
export { readLeRobotDataset } from './dataset/dataset-reader.ts';
export { formatDatasetSummary } from './dataset/format-summary.ts';
export { exportLakehouseToLeRobot, parseFeatureMapping } from './dataset/lakehouse-export.ts';
export { compileExtractor, type FieldExtractor } from './field-extractor.ts';
export { OnnxModelError, formatOnnxModelInfo, modelFingerprint, readOnnxModelInfo } from './onnx-model-file.ts';
export { PoliciesComponent } from './policies-component.ts';
export { replayPolicy } from './policy-replay.ts';
export { PolicyRunner } from './policy-runner.ts';
export {
  ManifestError,
  actionOutput,
  resolvePolicySpec,
  type OutputSpec,
  type PlacedSource,
  type PolicySpec,
} from './policy-spec.ts';
export { createPolicyDriver } from './sim-policy/policy-driver.ts';
export { VlaService } from './vla-service.ts';
export { ControlComponent } from './control/control-component.ts';
export { ControlLoop, type ControlLoopStats } from './control/control-loop.ts';
export { LatencyHistogram, formatHistogram, histogramPercentile } from './control/latency-histogram.ts';
export { closeWorker, spawnTsWorker, workerEntry } from '../../daemon/util/index.ts';
export { applyThreadScheduling, type SchedulingRequest } from '../../daemon/util/index.ts';
export { VideoFrameReader, VideoDecodeError, readEpisodeFrames, type VideoFrame } from './dataset/video-frames.ts';
