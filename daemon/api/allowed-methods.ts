interface RoutePath {
  pattern: RegExp;
  methods: Set<string>;
}

/**
 * The methods each route path takes, learnt from the routes as they are added. A path the API has, asked
 * with a method it does not take, is answered 405 with `Allow` (RFC 9110), and OPTIONS with 204 and
 * `Allow`, where a 404 would say the path does not exist. No CORS headers: a browser's preflight from
 * another origin still fails, as it must (see auth.ts).
 */
export class AllowedMethods {
  #paths = new Map<string, RoutePath>();

  /** Records a route's methods (fastify's onRoute hook gives one or a list). */
  add(url: string, method: string | string[]): void {
    let path = this.#paths.get(url);
    if (!path) this.#paths.set(url, (path = { pattern: patternOf(url), methods: new Set() }));
    for (const m of [method].flat().map((name) => name.toUpperCase())) {
      path.methods.add(m);
      // Fastify answers HEAD on every GET route (exposeHeadRoutes).
      if (m === 'GET') path.methods.add('HEAD');
    }
  }

  /** The methods `path` (no query) takes, sorted; empty for a path no route has. */
  of(path: string): string[] {
    const methods = new Set<string>();
    for (const route of this.#paths.values())
      if (route.pattern.test(path)) for (const m of route.methods) methods.add(m);
    return [...methods].sort();
  }
}

/** `/runs/:id/approve` -> /^\/runs\/[^/]+\/approve$/, `/inference/llm/*` -> /^\/inference\/llm\/.*$/. */
function patternOf(url: string): RegExp {
  const segments = url.split('/').map((segment) => {
    if (segment.startsWith(':')) return '[^/]+';
    return segment
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*');
  });
  return new RegExp(`^${segments.join('/')}$`);
}
