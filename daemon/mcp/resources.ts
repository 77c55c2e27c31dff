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
import { StatusWatch } from './status-watch.ts';
import { UNTRUSTED_NOTE } from './untrusted.ts';

const STATUS_URI = 'auraison://robot/status';

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
    'auraison://robot/status',
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
    'gateway',
    'auraison://mcp/gateway',
    {
      description: "The MCP gateway's counters: calls and refusals per tool and reason.",
      mimeType: 'application/json',
    },
    async (uri) => ({ contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(gateway()) }] }),
  );
  subscribeToStatus(server, api);
}

/** resources/subscribe for the status: resources/updated when what statusKey keeps changes, until unsubscribed. */
function subscribeToStatus(server: McpServer, api: () => ApiCaller): void {
  const watch = new StatusWatch({
    read: () => api().get('/status'),
    changed: () => void server.server.sendResourceUpdated({ uri: STATUS_URI }).catch(() => watch.stop()),
  });
  server.server.registerCapabilities({ resources: { subscribe: true } });
  const only = (uri: string) => {
    if (uri !== STATUS_URI)
      throw new McpError(ErrorCode.InvalidParams, `${uri}: only ${STATUS_URI} can be subscribed to`);
  };
  server.server.setRequestHandler(SubscribeRequestSchema, async (request) => {
    only(request.params.uri);
    await watch.start();
    return {};
  });
  server.server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
    only(request.params.uri);
    watch.stop();
    return {};
  });
  server.server.onclose = () => watch.stop();
}
