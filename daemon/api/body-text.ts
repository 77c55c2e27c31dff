import type { IncomingHttpHeaders } from 'node:http';
import type { ValidationIssue } from '../util/index.ts';
import { HttpError } from './http-error.ts';
import { errorText } from '../util/index.ts';

// The API's parser and the stop listener's thread read a body's bytes here, so both refuse the same bodies the same
// way. It imports no value from the contract: the listener's thread would compile its schemas at every start.

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A JSON body's bytes as text. JSON travels as UTF-8 (RFC 8259): another charset, or a compressed body, is
 * refused with 415 rather than read as garbage, and bytes that are not UTF-8 are a 400 rather than
 * replacement characters in what the route keeps. A leading byte order mark is dropped, as RFC 8259 allows.
 */
export function jsonBodyText(headers: IncomingHttpHeaders, body: Uint8Array): string {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(
      'unsupported_media_type',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported: send the body uncompressed`,
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(
      'unsupported_media_type',
      `charset ${JSON.stringify(charset)} is not supported: send JSON as UTF-8 (Content-Type: application/json)`,
    );
  }
  try {
    return UTF8.decode(body);
  } catch {
    throw bodyError('not valid UTF-8; JSON must be sent as UTF-8');
  }
}

/** A body's text as JSON, or a 400 saying why it is not. */
export function jsonValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw bodyError(`not valid JSON: ${errorText(error)}`);
  }
}

/** A 400 for the body itself: `body: <message>`, with the one issue at path `body`. */
export function bodyError(message: string): HttpError {
  const issues: ValidationIssue[] = [{ path: 'body', message }];
  return new HttpError('bad_request', `body: ${message}`, issues);
}
