import type { ValidationIssue } from '../util/index.ts';
import { API_ERRORS, type ApiErrorCode } from './error-codes.ts';

/** The JSON body of every error reply. */
export interface ErrorBody {
  error: string;
  message: string;
  issues?: ValidationIssue[];
}

/**
 * An error a route answers with: a code from the catalogue (error-codes.ts), which gives its status, and a message
 * that names what was wrong and what to do. Thrown inside handlers; the error handler turns it into
 * `{error, message, issues?}`.
 */
export class HttpError extends Error {
  override name = 'HttpError';
  readonly statusCode: number;
  readonly code: string;
  readonly issues: ValidationIssue[] | undefined;
  constructor(code: ApiErrorCode, message: string, issues?: ValidationIssue[]) {
    super(message);
    this.statusCode = API_ERRORS[code].status;
    this.code = code;
    this.issues = issues;
  }

  /**
   * An error whose code another program chose (a VLA policy served outside the daemon answers codes of its own):
   * passed on as given, with `status`. Every code the daemon itself makes goes through the constructor.
   */
  static passedOn(status: number, code: string, message: string): HttpError {
    return new PassedOnError(status, code, message);
  }
}

class PassedOnError extends HttpError {
  override readonly statusCode: number;
  override readonly code: string;
  constructor(status: number, code: string, message: string) {
    super('bad_request', message);
    this.statusCode = status;
    this.code = code;
  }
}

/**
 * The status and body of an error answered without an Error made (a hot path, or a reply written by hand): the
 * status from the catalogue, as HttpError's.
 */
export function apiErrorReply(
  code: ApiErrorCode,
  message: string,
  issues?: ValidationIssue[],
): { status: number; body: ErrorBody } {
  return { status: API_ERRORS[code].status, body: { error: code, message, ...(issues ? { issues } : {}) } };
}
