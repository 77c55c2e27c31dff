import type { FastifyReply, FastifyRequest } from 'fastify';
import { apiExposure } from '../config/index.ts';
import { formatIssue } from '../util/index.ts';
import { isLoopbackHost } from '../util/index.ts';
import { digest, gateRefusal, PUBLIC, type ApiGate } from './gate.ts';

export interface AuthOptions {
  /** The address the API binds. */
  host: string;
  /** The bearer token; empty for none (allowed on loopback only). */
  token: string;
}

/** The gate of an API bound to `host` with `token`; throws when that would expose it (off loopback, no token). */
export function apiGate(options: AuthOptions): ApiGate {
  const { host, token } = options;
  // The config check refuses this already; a server built from settings that skipped it refuses it alike.
  const [exposed] = apiExposure({ host, token });
  if (exposed) throw new Error(formatIssue(exposed));
  return { host, loopback: isLoopbackHost(host), expected: token === '' ? undefined : digest(token) };
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
