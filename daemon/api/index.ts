// The server itself (ApiComponent, fastify) is not here: the CLI's clients import this index, and the
// component registry loads the server from its own module.
export { ApiClient, ApiClientError, type ApiTarget } from './client.ts';
export { apiFilePath, readApiFile } from './discovery.ts';
export { HttpError, type ErrorBody } from './errors.ts';
export { renderPrometheus } from './prometheus.ts';
export { checkReadiness, readinessLine, type Readiness, type ReadinessCheck } from './readiness.ts';
export { resolveApiTarget } from './client.ts';
export type { SnapshotReply, SplitReply } from './routes/recorder.ts';
