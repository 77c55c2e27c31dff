export { Backoff, exponentialBackoff, type BackoffOptions } from './backoff.ts';
export { clipText } from './clip-text.ts';
export { crc32 } from './crc32.ts';
export { didYouMean } from './did-you-mean.ts';
export { errorText } from './error-text.ts';
export { diskSpaceText, formatBytes, isDiskFull } from './disk-full.ts';
export { findByPrefix, prefixProblem, SHORT_ID_MIN, shortId, shortIds } from './id-prefix.ts';
export { writeDurably } from './durable-file.ts';
export { lfsPointerMessage, readLfsPointer, type LfsPointer } from './lfs-pointer.ts';
export { LogBurst, withSuppressed } from './log-burst.ts';
export { isLoopbackHost } from './loopback.ts';
export { PACKAGE_ROOT } from './package-root.ts';
export { polygonProblems } from './polygon.ts';
export { printable } from './printable.ts';
export { baseUrlProblem, redactUrl, splitCredentials } from './redact-url.ts';
export { seededRandom } from './seeded-random.ts';
export { SyncThread } from './sync-thread.ts';
export { PLAUSIBLE_AFTER_MS, plausibleWallMs, remainingMs } from './wall-clock.ts';
export { rateLimitedErrors } from './rate-limited-errors.ts';
export { TokenBucket } from './token-bucket.ts';
export { TimeoutError, unlessAborted, withTimeout, within, type TimeoutOptions } from './timeout.ts';
export { sleep, type SleepOptions } from './sleep.ts';
export { JobQueue, type JobQueueOptions } from './job-queue.ts';
export { closeWorker, spawnTsWorker, workerEntry } from './spawn-worker.ts';
export {
  applyProcessScheduling,
  applyThreadScheduling,
  lowerProcess,
  readThreadScheduling,
  type LowPriority,
  type SchedulingPolicy,
  type SchedulingRequest,
  type SchedulingResult,
} from './thread-scheduling.ts';
export { FloodGuard } from './flood-guard.ts';
export { newId, uuidv7Time } from './ids.ts';
export { nowNs, nsFromJson, nsToIso, nsToJson, nsToRosTime, rosTimeToNs } from './time.ts';
export { formatIssue, formatPath, issuesIn, ValidationError, Validator, type ValidationIssue } from './validate.ts';
export { jsonHazard } from './json-hazards.ts';
export { parsePythonJson, stringifyPythonJson } from './python-json.ts';
export { counter, counterBy, gauge, gaugeBy, type FiguresByKey } from './metric-family.ts';
export type { MetricFamily } from './metric-family.ts';
export { memoryFolder } from './memory-folder.ts';
