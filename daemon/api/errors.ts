import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { issuesIn, ValidationError, type ValidationIssue } from '../util/index.ts';
import type { ApiErrorCode } from './error-codes.ts';
import { apiErrorReply, HttpError, type ErrorBody } from './http-error.ts';

export { apiErrorReply, HttpError, type ErrorBody } from './http-error.ts';

/** A service that is not running (its component is absent or failed): 503 with the reason, never a crash. */
export function unavailable(what: string, why: string): HttpError {
  return new HttpError('unavailable', `${what} is unavailable: ${why}`);
}

/** A 400 whose issues are prefixed with the request part they came from: `body.params.x`, `params.id`. */
export function validationHttpError(part: string, error: ValidationError): HttpError {
  const issues = issuesIn(part, error.issues); // never empty: the validator names what it can't describe
  return new HttpError('bad_request', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

/**
 * Replies to any error thrown in the API. Validation failures (ours, from the TypeBox validator compiler,
 * or fastify's own, like a body that is not JSON) become 400s whose issues name the failing path.
 */
export function makeErrorHandler(log: Logger) {
  return (error: FastifyError | HttpError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    const { status, body } = errorReply(error);
    if (status >= 500 && status !== 503 && status !== 504)
      log.error({ err: error.message, url: request.url }, 'api request failed');
    void reply.code(status).send(body);
  };
}

/** The status and body the API answers `error` with; the stop listener's thread answers its stops' so. */
export function errorReply(error: Error): { status: number; body: ErrorBody } {
  return { status: statusOf(error), body: toErrorBody(error) };
}

/** Errnos of a disk that takes no more: the request was refused whole (nothing half-written), 507. */
const DISK_FULL = new Set(['ENOSPC', 'EDQUOT']);

function statusOf(error: Error): number {
  if (DISK_FULL.has((error as NodeJS.ErrnoException).code ?? '')) return 507;
  const code = (error as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}

function toErrorBody(error: Error): ErrorBody {
  if (error instanceof HttpError)
    return { error: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) };
  const part = (error as { validationContext?: string }).validationContext;
  if (error instanceof ValidationError && part) return toErrorBody(validationHttpError(part, error));
  const status = statusOf(error);
  const fastifyCode = (error as FastifyError).code;
  // From fastify's router (frameworkErrors): the URL is at fault, not the body.
  if (fastifyCode === 'FST_ERR_BAD_URL')
    return body('bad_request', `url: ${clipQuotedUrl(error.message)} (check its percent-encoding)`);
  if (fastifyCode === 'FST_ERR_MAX_PARAM_LENGTH')
    return body('uri_too_long', `url: ${clipQuotedUrl(error.message)}: send a shorter path`);
  if (status === 413) return body('payload_too_large', `${error.message}; send a smaller body (api.body_limit_bytes)`);
  if (status === 415) return body('unsupported_media_type', `${error.message}; send Content-Type: application/json`);
  if (status === 400) {
    // A body fastify could not parse: the failing path is the body itself.
    return body('bad_request', `body: ${error.message}`, [{ path: 'body', message: error.message }]);
  }
  if (status === 404) return body('not_found', error.message);
  if (status === 507)
    return body(
      'insufficient_storage',
      `${error.message}; nothing was accepted: free space on the data dir's disk and send it again`,
    );
  // Another error keeps its own code (RobotNotStoppedError's `not_stopped`, fastify's `fst_err_...`), lower-cased.
  if (fastifyCode) return { error: fastifyCode.toLowerCase(), message: error.message };
  return body('internal', error.message);
}

function body(code: ApiErrorCode, message: string, issues?: ValidationIssue[]): ErrorBody {
  return apiErrorReply(code, message, issues).body;
}

/** Longest URL an error message echoes whole. */
const ECHOED_URL_CHARS = 200;

/**
 * Fastify's router messages quote the whole URL (`'/runs/aaa...' is exceeding the max param length`): an
 * over-long one is cut to its start and its length, so the answer to a 5,000-character URL is not another.
 */
function clipQuotedUrl(message: string): string {
  const m = /^'([\s\S]*)'( is [\s\S]*)$/.exec(message);
  if (!m || m[1]!.length <= ECHOED_URL_CHARS) return message;
  return `'${m[1]!.slice(0, ECHOED_URL_CHARS)}...' (${m[1]!.length} characters)${m[2]}`;
}
