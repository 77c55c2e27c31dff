import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface RelayOptions {
  /** The daemon's /mcp. */
  url: URL;
  /** The API's bearer token, or undefined for none. */
  token: string | undefined;
  /** Where the relay says what went wrong (stdout is the protocol's). */
  warn: (text: string) => void;
}

/**
 * Relays MCP between stdio (a desktop agent that runs `auraison-edge mcp` as its server command) and the
 * running daemon's /mcp. Messages pass through unchanged: the daemon's gateway decides everything, so the
 * relay has no tools, no authority and no state beyond the session. A request the daemon could not be asked
 * is answered with a JSON-RPC error naming why, so the agent's call fails instead of hanging. Resolves when
 * either side closes.
 */
export async function relayStdio({ url, token, warn }: RelayOptions): Promise<void> {
  const upstream = new StreamableHTTPClientTransport(url, {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  const local = new StdioServerTransport();
  const closed = new Promise<void>((resolve) => {
    local.onclose = resolve;
    upstream.onclose = resolve;
  });
  upstream.onmessage = (message) => void local.send(message);
  upstream.onerror = (error) => warn(`${url.href}: ${error.message}`);
  local.onerror = (error) => warn(`stdin: ${error.message}`);
  local.onmessage = (message) => {
    upstream.send(message).catch((error: Error) => {
      warn(`${url.href}: ${error.message}`);
      const id = 'id' in message && 'method' in message ? message.id : undefined;
      if (id === undefined) return;
      const refusal: JSONRPCMessage = {
        jsonrpc: '2.0',
        id,
        error: {
          code: -32000,
          message: `auraison-edge mcp: the daemon at ${url.href} did not answer: ${error.message}`,
        },
      };
      void local.send(refusal);
    });
  };
  await upstream.start();
  await local.start();
  await closed;
  await Promise.allSettled([upstream.close(), local.close()]);
}
