import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  ErrorCode,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ReadResourceResult,
} from '@modelcontextprotocol/sdk/types.js';
import type { ApiCaller } from './api-caller.ts';
import { readGraph } from './graph.ts';
import { ResourceWatch } from './resource-watch.ts';
import { statusKey } from './status-key.ts';
import { UNTRUSTED_NOTE } from './untrusted.ts';

const STATUS_URI = 'auraison://robot/status';
const MAP_URI = 'auraison://robot/map';
/** How often a subscribed status or map is asked for: also the most resources/updated a client gets per second. */
const STATUS_POLL_MS = 500;
const MAP_POLL_MS = 1000;

/** A resource's JSON, wrapped as tool results are: it is the robot's data, not the gateway's words. */
function json(uri: URL, data: unknown): ReadResourceResult {
  const text = JSON.stringify({ untrusted: true, note: UNTRUSTED_NOTE, data });
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text }] };
}

/** What the status page shows, as MCP resources read through the API as the caller. */
export function registerResources({
  server,
  api,
  gateway,
}: {
  server: McpServer;
  api: () => ApiCaller;
  /** The gateway's own counters: calls and refusals per tool. */
  gateway: () => unknown;
}): void {
  server.registerResource(
    'status',
    STATUS_URI,
    {
      description: "The daemon's status: components, topics, readiness, the stop latch.",
      mimeType: 'application/json',
    },
    async (uri) => json(uri, await api().get('/status')),
  );
  server.registerResource(
    'graph',
    'auraison://robot/graph',
    { description: 'Topics, queryables and actions on the robot bus.', mimeType: 'application/json' },
    async (uri) => json(uri, await readGraph(api())),
  );
  server.registerResource(
    'runs',
    'auraison://robot/runs',
    { description: 'The 20 most recent runs.', mimeType: 'application/json' },
    async (uri) => json(uri, await api().get('/runs?limit=20')),
  );
  server.registerResource(
    'map',
    MAP_URI,
    {
      description:
        "The robot's occupancy grid (the latest on /map): frame, resolution, width, height, origin, cell counts, and the cells as base64 int8 (-1 unknown, 0 free .. 100 occupied), row-major from the origin.",
      mimeType: 'application/json',
    },
    async (uri) => json(uri, await api().get('/map')),
  );
  server.registerResource(
    'gateway',
    'auraison://mcp/gateway',
    {
      description: "The MCP gateway's counters: calls and refusals per tool and reason.",
      mimeType: 'application/json',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(gateway()) }] }),
  );
  subscribe(server, {
    [STATUS_URI]: (changed) =>
      new ResourceWatch({
        key: async () => statusKey(await api().get('/status')),
        changed,
        intervalMs: STATUS_POLL_MS,
      }),
    // A conditional GET: the map is decoded only when a new one came.
    [MAP_URI]: (changed) =>
      new ResourceWatch({ key: (last) => api().etag('/map', last), changed, intervalMs: MAP_POLL_MS }),
  });
}

/**
 * resources/subscribe for the resources that change on their own: resources/updated when a resource's watch
 * sees a change, until unsubscribed or the session closes.
 */
function subscribe(server: McpServer, watches: Record<string, (changed: () => void) => ResourceWatch>): void {
  const open = new Map<string, ResourceWatch>();
  const stopAll = () => {
    for (const watch of open.values()) watch.close();
    open.clear();
  };
  server.server.registerCapabilities({ resources: { subscribe: true } });
  const watchOf = (uri: string) => {
    const make = watches[uri];
    if (!make)
      throw new McpError(
        ErrorCode.InvalidParams,
        `${uri}: only ${Object.keys(watches).join(' and ')} can be subscribed to`,
      );
    return make;
  };
  server.server.setRequestHandler(SubscribeRequestSchema, async ({ params: { uri } }) => {
    const make = watchOf(uri);
    if (open.has(uri)) return {};
    const watch = make(() => void server.server.sendResourceUpdated({ uri }).catch(stopAll));
    open.set(uri, watch);
    await watch.start();
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async ({ params: { uri } }) => {
    watchOf(uri);
    open.get(uri)?.close();
    open.delete(uri);
    return {};
  });
  server.server.onclose = stopAll;
}
