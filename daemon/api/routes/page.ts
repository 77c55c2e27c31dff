import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { HttpError } from '../errors.ts';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';
import { PACKAGE_ROOT } from '../../util/index.ts';

const PAGE_DIR = join(PACKAGE_ROOT, 'daemon', 'api', 'page');
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
};
const FileParams = Type.Object(
  { file: Type.String({ pattern: '^[A-Za-z0-9_-]+\\.(js|css)$' }) },
  { additionalProperties: false },
);

/**
 * The status page: plain HTML, CSS and ES modules in daemon/api/page, read once at start (no build step).
 * The files hold no data; everything they show comes from the API with the same token as any client.
 */
export const pageRoutes: FastifyPluginAsync<RouteContext> = async (app, { stopPort }) => {
  const files = new Map<string, string>();
  for (const name of readdirSync(PAGE_DIR))
    if (TYPES[extname(name)]) files.set(name, readFileSync(join(PAGE_DIR, name), 'utf8'));
  const headers = {
    'cache-control': 'no-cache',
    'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'",
    'x-content-type-options': 'nosniff',
  };

  // The page itself may also connect to the stop listener, at the host it was opened at (its STOP goes there).
  app.get(
    '/',
    { schema: { querystring: NoQuery, summary: 'The status page (docs/api.md). Needs no token.' } },
    async (request, reply) => {
      const port = stopPort();
      const host = request.host.replace(/:\d+$/, '');
      // A name as a URL writes it, nothing that could end the policy's directive.
      const connect =
        port === undefined || !/^[\w.[\]:-]+$/.test(host) ? '' : `; connect-src 'self' http://${host}:${port}`;
      return reply
        .headers({ ...headers, 'content-security-policy': `${headers['content-security-policy']}${connect}` })
        .type(TYPES['.html']!)
        .send(files.get('index.html'));
    },
  );

  app.get<{ Params: Static<typeof FileParams> }>(
    '/page/:file',
    {
      schema: {
        params: FileParams,
        summary: "The status page's scripts and styles. Needs no token.",
        statuses: { 404: '`not_found`: no such file' },
      },
    },
    async (request, reply) => {
      const body = files.get(request.params.file);
      if (body === undefined) throw new HttpError(404, 'not_found', `no page asset ${request.params.file}`);
      return reply.headers(headers).type(TYPES[extname(request.params.file)]!).send(body);
    },
  );
};
