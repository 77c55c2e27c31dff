export { ControlComponent } from './control-component.ts';
export { ControlLoop, type ControlLoopStats } from './control-loop.ts';
export { LatencyHistogram, formatHistogram, histogramPercentile } from './latency-histogram.ts';
export { closeWorker, spawnTsWorker, workerEntry } from './spawn-worker.ts';
export { applyThreadScheduling, type SchedulingRequest } from './thread-scheduling.ts';
