import type { FastifyInstance } from 'fastify';
import { jsonHazard } from '../contract/json-hazards.ts';
import { ValidationError } from '../contract/validate.ts';
import { HttpError, validationHttpError } from './errors.ts';

/**
 * The API's only body parser, in place of fastify's application/json and text/plain ones: any other type
 * gets 415. The body is parsed with JSON.parse and then checked for what the contract refuses before
 * validation (nesting too deep, a non-finite number, a `__proto__` key), so each is a 400 naming its path
 * instead of a 500 from a blown stack or fastify's "Body is not valid JSON" for valid JSON.
 */
export function useJsonBodies(app: Pick<FastifyInstance, 'removeAllContentTypeParsers' | 'addContentTypeParser'>): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      done(error as Error, undefined);
    }
  });
}

export function parseJsonBody(text: string): unknown {
  if (text === '') throw bodyError('empty; send a JSON object (or no Content-Type for no body)');
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
