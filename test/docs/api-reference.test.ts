import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { API_REFERENCE, documentedRoutes, renderApiReference } from '../../daemon/api/api-reference.ts';
import { ROOT } from '../helpers/cli.ts';

describe('docs/api-reference.md', () => {
  it('is what `npm run docs:api` writes from the route schemas now', async () => {
    const routes = await documentedRoutes();
    // Not vacuous: the routes a reader looks up first are there, each with its one line.
    for (const route of ['GET /healthz', 'POST /intents', 'POST /stop', 'POST /query', 'GET /events'])
      expect(routes.map((r) => `${String(r.method)} ${r.url}`)).toContain(route);
    for (const route of routes) expect(route.schema?.summary, `${String(route.method)} ${route.url}`).toBeTruthy();
    const committed = readFileSync(join(ROOT, API_REFERENCE), 'utf8');
    expect(committed, 'docs/api-reference.md is stale: run `npm run docs:api` and commit it').toBe(
      renderApiReference(routes),
    );
  });
});
