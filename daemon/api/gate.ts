import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { isLoopbackHost } from '../util/index.ts';
import { HttpError } from './http-error.ts';

// The API's gate as plain functions over a request's headers, for the API's hook (auth.ts) and the stop listener's
// thread alike; light on purpose: that thread loads nothing it does not need.

/** Routes anyone may call: the health checks a supervisor probes, and the status page's static files (no data). */
export const PUBLIC = /^\/(healthz|readyz|page\/[A-Za-z0-9._-]+)?(\?.*)?$/;

/** The gate's settings, checked once: what every request is held to. */
export interface ApiGate {
  /** The address the API binds. */
  host: string;
  /** Bound to loopback: the Host header must name loopback too. */
  loopback: boolean;
  /** The token's digest; undefined for none. */
  expected: Uint8Array | undefined;
}

/**
 * Why a request may not pass the gate, or undefined:
 * - with a token, every route but the public ones needs `Authorization: Bearer <token>`;
 * - bound to loopback, the Host header must name loopback too, so a web page cannot reach the API through
 *   DNS rebinding (together with JSON-only bodies, which a cross-site form cannot send, this keeps a
 *   browser on the robot from approving runs on a stranger's behalf).
 * The stop listener's thread asks the same (halt-listener-worker.ts).
 */
export function gateRefusal(
  gate: ApiGate,
  request: { url: string; httpVersion: string; headers: IncomingHttpHeaders },
): HttpError | undefined {
  const { headers } = request;
  // Node's own check answers this with a bare 400 (no body); HTTP/1.1 requires Host (RFC 9112).
  if (headers.host === undefined && request.httpVersion === '1.1')
    return new HttpError('bad_request', 'missing Host header: HTTP/1.1 requires one');
  if (gate.loopback) {
    const hostHeader = (headers.host ?? '').replace(/:\d+$/, '');
    if (!isLoopbackHost(hostHeader))
      return new HttpError(
        'forbidden',
        `Host ${JSON.stringify(headers.host ?? '')} is not a loopback name; the API is bound to ${gate.host}`,
      );
  }
  if (!gate.expected || PUBLIC.test(request.url)) return undefined;
  const header = headers.authorization;
  const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
  if (!match) return new HttpError('unauthorized', 'missing bearer token: send Authorization: Bearer <api.token>');
  if (!timingSafeEqual(digest(match[1]!), gate.expected)) return new HttpError('unauthorized', 'wrong bearer token');
  return undefined;
}

// Comparing digests keeps the comparison constant-time whatever the lengths.
export function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
