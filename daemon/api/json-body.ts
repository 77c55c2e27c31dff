import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { jsonHazard } from '../contract/index.ts';
import { ValidationError } from '../contract/index.ts';
import { HttpError, validationHttpError } from './errors.ts';

/**
 * The API's only body parser, in place of fastify's application/json and text/plain ones: any other type
 * gets 415. The body is parsed with JSON.parse and then checked for what the contract refuses before
 * validation (nesting too deep, a non-finite number, a `__proto__` key), so each is a 400 naming its path
 * instead of a 500 from a blown stack or fastify's "Body is not valid JSON" for valid JSON.
 */
export function useJsonBodies(
  app: Pick<FastifyInstance, 'removeAllContentTypeParsers' | 'addContentTypeParser'>,
): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body, done) => {
    try {
      // No body under Content-Type: application/json is no body: state-changing routes require the header
      // (cross-site.ts), also `curl -X POST -H 'content-type: application/json' .../stop` with none.
      const bytes = body as Buffer;
      done(null, bytes.length === 0 ? undefined : parseJsonBody(decodeBody(request.headers, bytes)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/**
 * The body's bytes as text. JSON travels as UTF-8 (RFC 8259): another charset, or a compressed body, is
 * refused with 415 rather than read as garbage, and bytes that are not UTF-8 are a 400 rather than
 * replacement characters in the intent. A leading byte order mark is dropped, as RFC 8259 allows.
 */
function decodeBody(headers: IncomingHttpHeaders, body: Buffer): string {
  const encoding = headers['content-encoding']?.trim().toLowerCase();
  if (encoding && encoding !== 'identity') {
    throw new HttpError(
      415,
      'unsupported_media_type',
      `Content-Encoding ${JSON.stringify(encoding)} is not supported: send the body uncompressed`,
    );
  }
  const charset = /;\s*charset\s*=\s*"?([^";\s]*)/i.exec(headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new HttpError(
      415,
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

export function parseJsonBody(text: string): unknown {
  if (text === '') throw bodyError('empty; send a JSON object');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw bodyError(`not valid JSON: ${(error as Error).message}`);
  }
  const hazard = jsonHazard(value);
  if (hazard) throw validationHttpError('body', new ValidationError('body', [hazard]));
  return value;
}

function bodyError(message: string): HttpError {
  return new HttpError(400, 'bad_request', `body: ${message}`, [{ path: 'body', message }]);
}
