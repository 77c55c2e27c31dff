import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLoopbackHost } from '../util/index.ts';
import { HttpError } from './http-error.ts';

/** Why a state-changing request was refused; the label of auraison_api_cross_site_refused_total. */
export type CrossSiteRefusal = 'sec_fetch_site' | 'origin' | 'content_type';

/** The methods that change the robot's state; a GET, HEAD or OPTIONS changes nothing and passes. */
const STATE_CHANGING = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

const HOW_TO_CALL =
  "the local API takes changes only from its own status page, the CLI, or a client that sends no Origin (curl -X POST -H 'content-type: application/json' ...)";

export interface CrossSiteOptions {
  /** Told of each refusal, before it is answered. */
  refused: (reason: CrossSiteRefusal) => void;
}

/**
 * The API's guard against web pages, as an onRequest hook after the auth gate. A page on another origin can
 * send a POST no-cors (a body-less fetch or a form needs no CORS preflight): the browser hides the answer
 * from the page, but the robot has already stopped, released its latch or paused its recorder. So every
 * state-changing request is refused (403) when the browser says it came from another site, or names an
 * Origin that is not the API's own, and (415) a POST unless it says Content-Type: application/json, which a
 * page cannot send without a preflight this API never grants (a DELETE, PUT or PATCH always needs one).
 * Clients that send neither header (the CLI, curl) pass.
 */
export function makeCrossSiteHook({ refused }: CrossSiteOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!STATE_CHANGING.has(request.method)) return;
    const refusal = crossSiteRefusal(
      request.method,
      `${request.method} ${request.url.split('?')[0]!}`,
      request.headers,
    );
    if (!refusal) return;
    refused(refusal.reason);
    // As the auth gate: the body the route will never take is not read on.
    reply.header('connection', 'close');
    throw refusal.error;
  };
}

/**
 * Why `headers` may not change state (`what` names the request for the message), or undefined. The stop
 * listener's thread asks the same (halt-listener-worker.ts).
 */
export function crossSiteRefusal(
  method: string,
  what: string,
  headers: IncomingHttpHeaders,
): { reason: CrossSiteRefusal; error: HttpError } | undefined {
  const site = headers['sec-fetch-site'];
  // same-site is refused too: a page on another port of this host (another local service) is same-site.
  if (site === 'cross-site' || site === 'same-site')
    return {
      reason: 'sec_fetch_site',
      error: new HttpError(
        'cross_site',
        `${what} refused: the browser says it came from a page on another origin (Sec-Fetch-Site: ${site}); ${HOW_TO_CALL}`,
      ),
    };
  const origin = headers.origin;
  if (origin !== undefined && !isOwnOrigin(origin, headers.host)) {
    return {
      reason: 'origin',
      error: new HttpError(
        'cross_site',
        `${what} refused: it came from a page at ${JSON.stringify(origin)}, not from the API's own origin http://${headers.host ?? ''}; ${HOW_TO_CALL}`,
      ),
    };
  }
  return jsonTypeRefusal(method, what, headers);
}

/**
 * Why a request that may change state lacks the JSON type (415), or undefined. Only a POST can come from a page on
 * another origin without a CORS preflight (which the API never grants, nor the stop listener to any page but the
 * API's): a DELETE, PUT or PATCH with no body (an MCP client ending its session) needs no content type.
 */
export function jsonTypeRefusal(
  method: string,
  what: string,
  headers: IncomingHttpHeaders,
): { reason: CrossSiteRefusal; error: HttpError } | undefined {
  const mediaType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (mediaType !== 'application/json' && (method === 'POST' || headers['content-type'] !== undefined))
    return {
      reason: 'content_type',
      error: new HttpError(
        'unsupported_media_type',
        `${what} needs the header Content-Type: application/json, also with no body (got ${
          headers['content-type'] === undefined ? 'none' : JSON.stringify(headers['content-type'])
        }): a web page cannot send it to another origin, so the API takes changes only with it`,
      ),
    };
  return undefined;
}

/**
 * The Origin of a request from the API's own status page (`http`, the Host's name or a loopback name for it, the API's
 * port), sent to another of the daemon's ports (the stop listener's); undefined for any other origin, or none.
 */
export function apiPageOrigin(headers: IncomingHttpHeaders, apiPort: string): string | undefined {
  const { origin, host } = headers;
  if (origin === undefined || host === undefined) return undefined;
  let name: string;
  try {
    name = new URL(`http://${host}`).host.replace(/:\d+$/, '');
  } catch {
    return undefined; // not a Host of ours
  }
  return isOwnOrigin(origin, `${name}:${apiPort}`) ? origin : undefined;
}

/**
 * Whether `origin` is the origin the request came to: http, the Host header's port, and the Host's name or a
 * loopback name for it (the page opened at localhost posting to 127.0.0.1). An unreadable Origin (`null`
 * from a sandboxed frame or a file) is not.
 */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  if (host === undefined) return false;
  let page: URL;
  let own: URL;
  try {
    page = new URL(origin);
    own = new URL(`http://${host}`);
  } catch {
    return false; // not a URL: no origin of ours
  }
  if (page.protocol !== 'http:' || page.port !== own.port || page.origin !== origin.toLowerCase()) return false;
  return page.hostname === own.hostname || isLoopbackHost(page.hostname);
}
