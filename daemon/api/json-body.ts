import type { FastifyInstance } from 'fastify';
import { jsonHazard } from '../util/index.ts';
import { ValidationError } from '../util/index.ts';
import { bodyError, jsonBodyText, jsonValue } from './body-text.ts';
import { validationHttpError } from './errors.ts';

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
      done(null, bytes.length === 0 ? undefined : parseJsonBody(jsonBodyText(request.headers, bytes)));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

export function parseJsonBody(text: string): unknown {
  if (text === '') throw bodyError('empty; send a JSON object');
  const value = jsonValue(text);
  const hazard = jsonHazard(value);
  if (hazard) throw validationHttpError('body', new ValidationError('body', [hazard]));
  return value;
}
