import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import Type, { type Static } from 'typebox';
import { HttpError } from '../errors.ts';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';
import { PACKAGE_ROOT } from '../../util/index.ts';

const PAGE_DIR = join(PACKAGE_ROOT, 'daemon', 'api', 'page');
const ASSET = /^[A-Za-z0-9_-]+\.(js|css)$/;
const FileParams = Type.Object({ file: Type.String({ pattern: ASSET.source }) }, { additionalProperties: false });
const PAGE_HEADERS = {
  'cache-control': 'no-cache',
  'content-security-policy': "default-src 'self'; img-src 'self' data:; style-src 'self'",
  'x-content-type-options': 'nosniff',
};

/**
 * The status page: plain HTML, CSS and ES modules in daemon/api/page, sent by @fastify/static (no build step). Only
 * the names there at start are served; each answer revalidates (no-cache). The files hold no data; everything they
 * show comes from the API with the same token as any client.
 */
export const pageRoutes: FastifyPluginAsync<RouteContext> = async (app, { stopPort }) => {
  const names = new Set(readdirSync(PAGE_DIR).filter((name) => ASSET.test(name)));
  await app.register(fastifyStatic, {
    root: PAGE_DIR,
    serve: false,
    cacheControl: false,
    setHeaders: (reply: FastifyReply, path: string) => {
      const page = path.endsWith('.html');
      void reply.headers({
        ...PAGE_HEADERS,
        ...(page
          ? { 'content-security-policy': `${PAGE_HEADERS['content-security-policy']}${connectSrc(reply)}` }
          : {}),
      });
      // RFC 9239's type for scripts; the plugin's mime table still names application/javascript.
      if (path.endsWith('.js')) void reply.type('text/javascript; charset=utf-8');
    },
  });

  app.get(
    '/',
    { schema: { querystring: NoQuery, summary: 'The status page (docs/api.md). Needs no token.' } },
    async (_request, reply) => reply.sendFile('index.html'),
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
      if (!names.has(request.params.file)) throw new HttpError('not_found', `no page asset ${request.params.file}`);
      return reply.sendFile(request.params.file);
    },
  );

  /** The page may also connect to the stop listener, at the host it was opened at (its STOP goes there). */
  function connectSrc(reply: FastifyReply): string {
    const port = stopPort();
    const host = reply.request.host.replace(/:\d+$/, '');
    // A name as a URL writes it, nothing that could end the policy's directive.
    return port === undefined || !/^[\w.[\]:-]+$/.test(host) ? '' : `; connect-src 'self' http://${host}:${port}`;
  }
};
