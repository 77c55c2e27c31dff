import type { ValidationIssue } from '../util/index.ts';

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
