import { createHash, timingSafeEqual } from 'node:crypto';
import { hostname, networkInterfaces } from 'node:os';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { FLEET_API_ERRORS, type FleetApiErrorCode } from './http-errors.ts';

/** The cookie the page keeps the token in, once opened at /?token=...: SameSite=Strict, so no other site sends it. */
const COOKIE = 'auraison_central_token';

export interface HttpGuardOptions {
  /** The address the API binds. */
  host: string;
  /** Empty: no token asked (loopback only). */
  token?: string;
  /** Host names the API answers to beside its own address and the loopback names. */
  allowedHosts?: string[];
}

/** Whether `host` (a bind address) reaches only this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Why the API may not listen on `host` without a token, or undefined: beyond loopback, anyone could query. */
export function unguardedBindProblem({ host, token = '' }: { host: string; token?: string }): string | undefined {
  if (token !== '' || isLoopback(host)) return undefined;
  return `http.host is ${host}, beyond loopback, and http.token is empty: anyone who reaches it could query the fleet. Set http.token in central.yaml (\${AURAISON_CENTRAL_TOKEN}) or --token-file, or bind http.host 127.0.0.1`;
}

/**
 * The fleet API's two doors, checked before any route: the `Host` a request names must be one this server
 * answers to (a page on a DNS-rebound name reaches 127.0.0.1 with its own name in Host), and with a token
 * every /api/ request must carry it (Authorization: Bearer, or the page's cookie). Throws, before anything
 * listens, when the API would bind beyond loopback without a token.
 */
export function guardFleetHttp(app: FastifyInstance, { host, token = '', allowedHosts = [] }: HttpGuardOptions): void {
  const problem = unguardedBindProblem({ host, token });
  if (problem) throw new Error(problem);
  const names = answeredNames(host, allowedHosts);
  const expected = token === '' ? undefined : digest(token);
  app.addHook('onRequest', async (request, reply) => {
    const named = hostName(request.headers.host);
    if (named === undefined || !names.has(named))
      return refuse(
        reply,
        'host_refused',
        `Host ${request.headers.host ?? '(none)'} is not a name central serve answers to (a guard against DNS rebinding): browse to ${[...names].join(', ')}, or add the name to http.allowed_hosts in central.yaml`,
      );
    if (expected === undefined) return undefined;
    const path = request.url.split('?')[0]!;
    if (path === '/' && typeof (request.query as { token?: unknown }).token === 'string')
      return openWithToken(request, reply, expected);
    if (!path.startsWith('/api/')) return undefined;
    const given = presentedToken(request);
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return undefined;
    void reply.header('www-authenticate', 'Bearer realm="auraison-central"');
    return refuse(
      reply,
      'unauthorized',
      `${given === undefined ? 'no' : 'a wrong'} token: the fleet API asks http.token as Authorization: Bearer <token> (central query and robots send it from central.yaml or $AURAISON_CENTRAL_TOKEN); a browser opens the page once at /?token=<token>`,
    );
  });
}

/** The page opened at /?token=...: a right token is kept in the page's cookie and the address loses it. */
function openWithToken(request: FastifyRequest, reply: FastifyReply, expected: Buffer): FastifyReply {
  const given = (request.query as { token: string }).token;
  if (!timingSafeEqual(digest(given), expected))
    return refuse(reply, 'unauthorized', 'a wrong token in /?token=: give http.token of central.yaml');
  return reply
    .header('set-cookie', `${COOKIE}=${encodeURIComponent(given)}; Path=/; HttpOnly; SameSite=Strict`)
    .redirect('/', 303);
}

function refuse(reply: FastifyReply, error: FleetApiErrorCode, message: string): FastifyReply {
  return reply.code(FLEET_API_ERRORS[error].status).type('application/json; charset=utf-8').send({ error, message });
}

/** The token a request carries: its Bearer authorization, else the page's cookie. */
function presentedToken(request: FastifyRequest): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer !== undefined) return bearer;
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, value] = part.trim().split('=', 2);
    if (name === COOKIE && value !== undefined) return decodeURIComponent(value);
  }
  return undefined;
}

/** Compared as digests: equal lengths for timingSafeEqual, whatever was sent. */
function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The Host header's name, lower-cased, without its port (an IPv6 literal keeps its brackets). */
function hostName(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+)(:\d+)?$/.exec(header.trim());
  return match?.[1]?.toLowerCase();
}

/** The names a request may give in Host: loopback's, the bind address, every local address when bound to all. */
function answeredNames(host: string, allowedHosts: string[]): Set<string> {
  const bracket = (address: string) => (address.includes(':') && !address.startsWith('[') ? `[${address}]` : address);
  const names = new Set(['localhost', '127.0.0.1', '[::1]', bracket(host), ...allowedHosts.map(bracket)]);
  if (host === '0.0.0.0' || host === '::') {
    names.add(hostname());
    for (const list of Object.values(networkInterfaces()))
      for (const { address } of list ?? []) names.add(bracket(address));
  }
  return new Set([...names].map((n) => n.toLowerCase()));
}
