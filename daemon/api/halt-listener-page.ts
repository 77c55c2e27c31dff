import type { IncomingHttpHeaders } from 'node:http';
import { apiPageOrigin } from './cross-site.ts';
import { HttpError } from './http-error.ts';

// The stop listener's door for the API's own status page, which sends its STOP from another port (the API's) and so
// reads the answer by CORS: granted to that page alone, never to another origin.

/** What a page may send in a stop besides the safelisted headers: the token and the JSON type. */
const PAGE_HEADERS = new Set(['authorization', 'content-type']);

/** The CORS headers of an answer, for the API's page (`origin`) or none (undefined): only Vary then. */
export function pageCors(origin: string | undefined): Record<string, string> {
  return { vary: 'origin', ...(origin === undefined ? {} : { 'access-control-allow-origin': origin }) };
}

/**
 * A preflight's answer: the headers of its 204 for the API's page asking POST /stop with no header but Authorization
 * and Content-Type, else a 403 `cross_site`.
 */
export function pagePreflight(
  headers: IncomingHttpHeaders,
  path: string,
  apiPort: string,
): Record<string, string> | HttpError {
  const origin = apiPageOrigin(headers, apiPort);
  const asked = String(headers['access-control-request-headers'] ?? '')
    .split(',')
    .map((h) => h.trim().toLowerCase())
    .filter((h) => h !== '');
  if (
    !origin ||
    path !== '/stop' ||
    headers['access-control-request-method'] !== 'POST' ||
    !asked.every((h) => PAGE_HEADERS.has(h))
  )
    return new HttpError(
      'cross_site',
      `OPTIONS ${path} refused: the stop listener takes a page's POST /stop from the API's own status page (port ${apiPort}) alone, with no header but Authorization and Content-Type`,
    );
  return {
    ...pageCors(origin),
    'access-control-allow-methods': 'POST',
    'access-control-allow-headers': 'authorization, content-type',
    'access-control-max-age': '600',
    'cache-control': 'no-store',
  };
}
