import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { PORTS, type MetricFamily } from '../contract/index.ts';
import type { ComponentContext } from '../lifecycle/index.ts';
import { McpGateway, type ListenerHalts } from './mcp-gateway.ts';

/** The reference's word on the /mcp routes: the protocol's own documents say the rest. */
const MCP_DESCRIPTION =
  'The Model Context Protocol over Streamable HTTP, with `mcp.enabled: true` (docs/mcp.md); the SDK answers.';

/**
 * /mcp on the local API: MCP's streamable HTTP transport (POST for messages, GET for the server's stream,
 * DELETE to end a session). Registered with the API's routes, so its auth gate (the token, loopback Host)
 * and its cross-site guard run first; absent when mcp.enabled is false. The stop listener's /mcp relays here, having
 * taken a request's stop calls first (ListenerStops).
 */
export const mcpRoutes: FastifyPluginAsync<{
  ctx: ComponentContext;
  metrics: { provide(source: () => MetricFamily[]): void };
  /** Told the gateway's part for the stop listener, which takes MCP's stop calls off the event loop. */
  mcpStops: (stops: ListenerHalts) => void;
}> = async (app, { ctx, metrics, mcpStops }) => {
  const settings = ctx.config.mcp;
  if (!settings.enabled) return;
  const gateway = new McpGateway({
    settings,
    inject: (request) => app.inject(request),
    log: ctx.log.child({ component: 'mcp' }),
    runs: () => ctx.ports.get(PORTS.externalRuns),
    halt: (by, reason, offLoop) => ctx.haltAuthority.halt(by, reason, offLoop),
  });
  metrics.provide(() => gateway.metrics());
  mcpStops(gateway.listenerStops);
  const handler = async (request: FastifyRequest, reply: FastifyReply) => {
    // The SDK writes the answer (JSON or an event stream) to the socket itself.
    reply.hijack();
    await gateway.handle(request.raw, reply.raw, request.body);
  };
  const schema = (summary: string) => ({ schema: { summary, description: MCP_DESCRIPTION } });
  app.post('/mcp', schema("An MCP client's request: the gateway's tools, resources and prompts."), handler);
  app.get('/mcp', schema("The session's event stream of server notifications."), handler);
  app.delete('/mcp', schema('Ends an MCP session.'), handler);
  app.addHook('onClose', () => gateway.close());
};
