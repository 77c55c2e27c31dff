// Here in util, not in the MCP part: the stop listener's thread reads a body's stop calls too, and loads nothing of the
// MCP SDK.

/**
 * The header by which the stop listener's thread tells the API's MCP gateway that it took a body's stop calls already:
 * its value is a pass the two share, so no client can say it (and so keep its stop from being taken).
 */
export const HALT_TAKEN_HEADER = 'x-auraison-stop-taken';

/** A `stop` tool call in a request's body: its JSON-RPC id and its reason. */
export interface HaltCall {
  id: string | number;
  reason: string | undefined;
}

/** The longest reason the stop tool takes (its input schema, and POST /stop's). */
const MAX_REASON = 1024;

/**
 * The calls of the `stop` tool in a body of MCP's streamable HTTP (one JSON-RPC message or a batch) whose arguments
 * the tool takes, so the stop listener's thread and the gateway stop the robot as they read them, before the SDK and
 * the tool's own turn: a call the tool would refuse (a reason too long) is left to it, and stops nothing, as POST
 * /stop's 400.
 */
export function haltCalls(body: unknown): HaltCall[] {
  const messages = Array.isArray(body) ? (body as unknown[]) : [body];
  const calls: HaltCall[] = [];
  for (const m of messages) {
    if (typeof m !== 'object' || m === null) continue;
    const { jsonrpc, method, id, params } = m as {
      jsonrpc?: unknown;
      method?: unknown;
      id?: unknown;
      params?: unknown;
    };
    if (jsonrpc !== '2.0' || method !== 'tools/call' || (typeof id !== 'string' && typeof id !== 'number')) continue;
    const { name, arguments: args = {} } = (params ?? {}) as { name?: unknown; arguments?: unknown };
    if (name !== 'stop' || typeof args !== 'object' || args === null || Array.isArray(args)) continue;
    const { reason } = args as { reason?: unknown };
    if (reason !== undefined && (typeof reason !== 'string' || reason.length > MAX_REASON)) continue;
    calls.push({ id, reason: reason || undefined });
  }
  return calls;
}
