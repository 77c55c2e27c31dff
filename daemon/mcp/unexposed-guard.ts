import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { CallToolRequestSchema, isJSONRPCRequest } from '@modelcontextprotocol/sdk/types.js';
import { errorResult } from './untrusted.ts';

/**
 * Answers a tools/call for a tool the session does not list, before the SDK's server sees it: the SDK would
 * answer "Tool publish not found" and tell nobody, where a client calling a tool it was never offered is
 * worth counting and a run (a prompt-injected model guessing at a publish). Installed on a connected
 * transport, in front of the server's own handler; every other message goes on to the server unchanged.
 * `refuse` says what to answer, and records the refusal.
 */
export function guardUnexposed({
  transport,
  listed,
  refuse,
}: {
  transport: Transport;
  listed: (tool: string) => boolean;
  refuse: (tool: string) => string;
}): void {
  const server = transport.onmessage;
  transport.onmessage = (message, extra) => {
    const call = isJSONRPCRequest(message) ? CallToolRequestSchema.safeParse(message) : undefined;
    if (!call?.success || listed(call.data.params.name)) return server?.(message, extra);
    const result = errorResult(refuse(call.data.params.name));
    void transport.send({ jsonrpc: '2.0', id: (message as { id: string | number }).id, result });
  };
}
