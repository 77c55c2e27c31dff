export { ActionChunker } from './action-chunker.ts';
export { compileCommand, type CommandBuilder } from './action-command.ts';
export { compileExtractor, type FieldExtractor } from './field-extractor.ts';
export { OnnxModelError, formatOnnxModelInfo, modelFingerprint, readOnnxModelInfo } from './onnx-model-file.ts';
export { PoliciesComponent } from './policies-component.ts';
export { modelFile, policyModelInfo, remoteEndpoint } from './remote/index.ts';
export { PolicyRunner } from './policy-runner.ts';
export {
  ManifestError,
  actionOutput,
  resolvePolicySpec,
  type OutputSpec,
  type PlacedSource,
  type PolicySpec,
} from './policy-spec.ts';
export { VlaService } from './vla-service.ts';
export { ControlComponent } from './control/control-component.ts';
export { ControlLoop, type ControlLoopStats } from './control/control-loop.ts';
export { isEpisodeBegin } from './control/episode-marks.ts';
export { LatencyHistogram, formatHistogram, histogramPercentile } from './control/latency-histogram.ts';
export { PolicyInputError, type PolicyInputs } from './policy-runner.ts';
export { type OnnxModelInfo, type TensorInfo } from './onnx-model-file.ts';
export { compressedFormat } from './vision/compressed-format.ts';
export { decodeFrame, ImageError, rawPixels, type RawImage } from './vision/image-decode.ts';
export { frameToInput } from './vision/frame-tensor.ts';
export { resolveImageInput, type ImageInputSpec } from './vision/image-input.ts';
