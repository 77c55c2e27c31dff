export { ApiComponent } from './api-component.ts';
export { ApiClient, ApiClientError, type ApiTarget } from './client.ts';
export { apiFilePath, readApiFile } from './discovery.ts';
export { HttpError, type ErrorBody } from './errors.ts';
export { renderPrometheus } from './prometheus.ts';
export { checkReadiness, type Readiness, type ReadinessCheck } from './readiness.ts';
export { buildApiServer, type ApiServer } from './server.ts';
export { resolveApiTarget } from './client.ts';
export type { SnapshotReply, SplitReply } from './routes/recorder.ts';
