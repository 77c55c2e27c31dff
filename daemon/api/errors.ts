import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { issuesIn, ValidationError, type ValidationIssue } from '../contract/validate.ts';

/**
 * An error a route answers with: its status, a stable machine code and a message that names what was wrong
 * and what to do. Thrown inside handlers; the error handler turns it into `{error, message, issues?}`.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly code: string;
  readonly issues: ValidationIssue[] | undefined;
  constructor(statusCode: number, code: string, message: string, issues?: ValidationIssue[]) {
    super(message);
    this.statusCode = statusCode;
    this.code = code;
    this.issues = issues;
  }
}

/** The JSON body of every error reply. */
export interface ErrorBody {
  error: string;
  message: string;
  issues?: ValidationIssue[];
}

/** A service that is not running (its component is absent or failed): 503 with the reason, never a crash. */
export function unavailable(what: string, why: string): HttpError {
  return new HttpError(503, 'unavailable', `${what} is unavailable: ${why}`);
}

/** A 400 whose issues are prefixed with the request part they came from: `body.params.x`, `params.id`. */
export function validationHttpError(part: string, error: ValidationError): HttpError {
  const issues = issuesIn(part, error.issues);
  return new HttpError(400, 'bad_request', issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues);
}

/**
 * Replies to any error thrown in the API. Validation failures (ours, from the TypeBox validator compiler,
 * or fastify's own, like a body that is not JSON) become 400s whose issues name the failing path.
 */
export function makeErrorHandler(log: Logger) {
  return (error: FastifyError | HttpError | Error, request: FastifyRequest, reply: FastifyReply): void => {
    const body = toErrorBody(error);
    const status = statusOf(error);
    if (status >= 500 && status !== 503 && status !== 504) log.error({ err: error.message, url: request.url }, 'api request failed');
    void reply.code(status).send(body);
  };
}

function statusOf(error: Error): number {
  const code = (error as { statusCode?: unknown }).statusCode;
  return typeof code === 'number' && code >= 400 && code < 600 ? code : 500;
}

function toErrorBody(error: Error): ErrorBody {
  if (error instanceof HttpError) return { error: error.code, message: error.message, ...(error.issues ? { issues: error.issues } : {}) };
  const part = (error as { validationContext?: string }).validationContext;
  if (error instanceof ValidationError && part) return toErrorBody(validationHttpError(part, error));
  const status = statusOf(error);
  const fastifyCode = (error as FastifyError).code;
  if (status === 413) return { error: 'payload_too_large', message: `${error.message}; send a smaller body (api.body_limit_bytes)` };
  if (status === 415) return { error: 'unsupported_media_type', message: `${error.message}; send Content-Type: application/json` };
  if (status === 400) {
    // A body fastify could not parse: the failing path is the body itself.
    return { error: 'bad_request', message: `body: ${error.message}`, issues: [{ path: 'body', message: error.message }] };
  }
  if (status === 404) return { error: 'not_found', message: error.message };
  return { error: fastifyCode ? fastifyCode.toLowerCase() : 'internal', message: error.message };
}
