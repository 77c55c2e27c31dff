import { createHash, timingSafeEqual } from 'node:crypto';
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

/**
 * The API's gate, as an onRequest hook:
 * - with a token, every route but the public ones needs `Authorization: Bearer <token>`;
 * - bound to loopback, the Host header must name loopback too, so a web page cannot reach the API through
 *   DNS rebinding (together with JSON-only bodies, which a cross-site form cannot send, this keeps a
 *   browser on the robot from approving runs on a stranger's behalf).
 */
export function makeAuthHook(options: AuthOptions) {
  const { host, token } = options;
  // The config check refuses this already; a server built from settings that skipped it refuses it alike.
  const [exposed] = apiExposure({ host, token });
  if (exposed) throw new Error(formatIssue(exposed));
  const expected = token === '' ? undefined : digest(token);
  const loopback = isLoopbackHost(host);
  return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    // A refused request's connection closes after the answer: node would otherwise keep reading a body
    // the route never takes, for as long as the peer trickles it (fastify sets no request timeout), so
    // anyone who can reach the port could hold sockets, and the daemon's file descriptors, without a token.
    const refuse = (error: HttpError): HttpError => {
      reply.header('connection', 'close');
      return error;
    };
    // Node's own check answers this with a bare 400 (no body); HTTP/1.1 requires Host (RFC 9112).
    if (request.headers.host === undefined && request.raw.httpVersion === '1.1')
      throw refuse(new HttpError(400, 'bad_request', 'missing Host header: HTTP/1.1 requires one'));
    if (loopback) {
      const hostHeader = (request.headers.host ?? '').replace(/:\d+$/, '');
      if (!isLoopbackHost(hostHeader))
        throw refuse(
          new HttpError(
            403,
            'forbidden',
            `Host ${JSON.stringify(request.headers.host ?? '')} is not a loopback name; the API is bound to ${host}`,
          ),
        );
    }
    if (!expected || PUBLIC.test(request.url)) return;
    reply.header('www-authenticate', 'Bearer realm="auraison-edge"');
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match)
      throw refuse(new HttpError(401, 'unauthorized', 'missing bearer token: send Authorization: Bearer <api.token>'));
    if (!timingSafeEqual(digest(match[1]!), expected))
      throw refuse(new HttpError(401, 'unauthorized', 'wrong bearer token'));
  };
}

// Comparing digests keeps the comparison constant-time whatever the lengths.
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
