import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiExposure } from '../config/index.ts';
import { formatIssue } from '../contract/index.ts';
import { isLoopbackHost } from '../util/index.ts';
import { HttpError } from './errors.ts';

/** Routes anyone may call: the health checks a supervisor probes, and the status page's static files (no data). */
const PUBLIC = /^\/(healthz|readyz|page\/[A-Za-z0-9._-]+)?(\?.*)?$/;

export interface AuthOptions {
  /** The address the API binds. */
  host: string;
  /** The bearer token; empty for none (allowed on loopback only). */
  token: string;
}

/** The gate's settings, checked once: what every request is held to. */
export interface ApiGate {
  /** The address the API binds. */
  host: string;
  /** Bound to loopback: the Host header must name loopback too. */
  loopback: boolean;
  /** The token's digest; undefined for none. */
  expected: Buffer | undefined;
}

/** The gate of an API bound to `host` with `token`; throws when that would expose it (off loopback, no token). */
export function apiGate(options: AuthOptions): ApiGate {
  const { host, token } = options;
  // The config check refuses this already; a server built from settings that skipped it refuses it alike.
  const [exposed] = apiExposure({ host, token });
  if (exposed) throw new Error(formatIssue(exposed));
  return { host, loopback: isLoopbackHost(host), expected: token === '' ? undefined : digest(token) };
}

/**
 * Why a request may not pass the gate, or undefined:
 * - with a token, every route but the public ones needs `Authorization: Bearer <token>`;
 * - bound to loopback, the Host header must name loopback too, so a web page cannot reach the API through
 *   DNS rebinding (together with JSON-only bodies, which a cross-site form cannot send, this keeps a
 *   browser on the robot from approving runs on a stranger's behalf).
 * The stop listener's thread asks the same (stop-listener-worker.ts).
 */
export function gateRefusal(
  gate: ApiGate,
  request: { url: string; httpVersion: string; headers: IncomingHttpHeaders },
): HttpError | undefined {
  const { headers } = request;
  // Node's own check answers this with a bare 400 (no body); HTTP/1.1 requires Host (RFC 9112).
  if (headers.host === undefined && request.httpVersion === '1.1')
    return new HttpError(400, 'bad_request', 'missing Host header: HTTP/1.1 requires one');
  if (gate.loopback) {
    const hostHeader = (headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopbackHost(hostHeader))
      return new HttpError(
        403,
        'forbidden',
        `Host ${JSON.stringify(headers.host ?? '')} is not a loopback name; the API is bound to ${gate.host}`,
      );
  }
  if (!gate.expected || PUBLIC.test(request.url)) return undefined;
  const header = headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) return new HttpError(401, 'unauthorized', 'missing bearer token: send Authorization: Bearer <api.token>');
  if (!timingSafeEqual(digest(match[1]!), gate.expected))
    return new HttpError(401, 'unauthorized', 'wrong bearer token');
  return undefined;
}

/** The API's gate (gateRefusal), as an onRequest hook. */
export function makeAuthHook(options: AuthOptions) {
  const gate = apiGate(options);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (gate.expected && !PUBLIC.test(request.url)) reply.header('www-authenticate', 'Bearer realm="auraison-edge"');
    const refused = gateRefusal(gate, {
      url: request.url,
      httpVersion: request.raw.httpVersion,
      headers: request.headers,
    });
    if (!refused) return;
    // A refused request's connection closes after the answer: node would otherwise keep reading a body
    // the route never takes, for as long as the peer trickles it (fastify sets no request timeout), so
    // anyone who can reach the port could hold sockets, and the daemon's file descriptors, without a token.
    reply.header('connection', 'close');
    throw refused;
  };
}

// Comparing digests keeps the comparison constant-time whatever the lengths.
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
