import type { MetricFamily } from '../contract/index.ts';
import type { CrossSiteRefusal } from './cross-site.ts';
import { Histogram } from './histogram.ts';
import { counterBy } from '../util/index.ts';

/** The API's own figures: requests by route and status, request and inference latency. */
export class ApiMetrics {
  #requests = new Map<string, { labels: Record<string, string>; value: number }>();
  #latency = new Histogram({ name: 'auraison_api_request_duration_seconds', help: 'HTTP request latency by route.' });
  readonly inference = new Histogram({
    name: 'auraison_api_inference_duration_seconds',
    help: 'Latency of POST /inference/{vla,llm}/... by kind, name and outcome.',
  });
  readonly query = new Histogram({
    name: 'auraison_api_query_duration_seconds',
    help: 'Latency of POST /query by outcome.',
  });

  #clientErrors = new Map<string, number>();
  #crossSiteRefused = new Map<CrossSiteRefusal, number>();
  #sources: (() => MetricFamily[])[] = [];

  /** Families a route plugin keeps itself (the MCP gateway's), scraped with the API's own. */
  provide(source: () => MetricFamily[]): void {
    this.#sources.push(source);
  }

  /** A state-changing request refused as a web page's (see cross-site.ts), by why. */
  crossSiteRefused(reason: CrossSiteRefusal): void {
    this.#crossSiteRefused.set(reason, (this.#crossSiteRefused.get(reason) ?? 0) + 1);
  }

  /**
   * A connection answered before any route ran and closed: `error` is its code (timeout, headers_too_large,
   * bad_request).
   */
  clientError(error: string): void {
    this.#clientErrors.set(error, (this.#clientErrors.get(error) ?? 0) + 1);
  }

  /** `route` is the route pattern (`/runs/:id`), never the raw URL, so label sets stay few. */
  request(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, code: String(status) };
    const key = `${method} ${route} ${status}`;
    const entry = this.#requests.get(key);
    if (entry) entry.value++;
    else this.#requests.set(key, { labels, value: 1 });
    this.#latency.observe({ route }, seconds);
  }

  families(): MetricFamily[] {
    return [
      {
        name: 'auraison_api_requests_total',
        help: 'HTTP requests by method, route and status code.',
        type: 'counter',
        samples: [...this.#requests.values()],
      },
      counterBy(
        'auraison_api_client_errors_total',
        'Connections closed before any route ran, by error: timeout (the request did not arrive within api.request_timeout_s), headers_too_large, bad_request (malformed HTTP).',
        'error',
        this.#clientErrors,
      ),
      counterBy(
        'auraison_api_cross_site_refused_total',
        "State-changing requests refused as sent by a web page, by reason: sec_fetch_site (the browser said cross-site or same-site), origin (an Origin not the API's own), content_type (not application/json).",
        'reason',
        this.#crossSiteRefused,
      ),
      this.#latency.family(),
      this.inference.family(),
      this.query.family(),
      ...this.#sources.flatMap((source) => source()),
    ];
  }
}
