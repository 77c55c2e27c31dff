// The MCP gateway: /mcp on the local API, whose tools are faces over the API's routes and the agent's runs.
export { mcpRoutes } from './mcp-routes.ts';
export type { ListenerHaltCall, ListenerHalts } from './mcp-gateway.ts';
export { UNTRUSTED_NOTE } from './untrusted.ts';
export { relayStdio } from './stdio-relay.ts';
