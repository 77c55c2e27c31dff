import { PORTS } from '../../daemon/contract/index.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Cleanup } from '../helpers/cleanups.ts';
import { startSimDaemon, type SimDaemonOptions } from '../helpers/daemon.ts';

/** A sim daemon with its API on a free port, and the MCP config given. */
export async function startMcpDaemon(
  cleanups: Cleanup[],
  config: Record<string, unknown> = {},
  options: SimDaemonOptions = {},
) {
  const started = await startSimDaemon(cleanups, {
    ...options,
    // A minute for a query: the first starts the query process, which took past the default 10 s under CPU hogs.
    config: { api: { enabled: true, port: 0, query: { timeout_ms: 60_000 } }, ...config },
  });
  const url = started.daemon.ports.get(PORTS.api)!.url!;
  return { ...started, url };
}

/** The SDK's own client, connected over the transport given and closed by the cleanups. */
export async function connectClient(cleanups: Cleanup[], transport: Transport, name = 'test-agent'): Promise<Client> {
  const client = new Client({ name, version: '1.0.0' });
  await client.connect(transport);
  cleanups.push(() => client.close());
  return client;
}

export function httpTransport(url: string, token?: string): StreamableHTTPClientTransport {
  return new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
}

/** A tool result's wrapped data: `{untrusted: true, note, data}` parsed from its text. */
export function untrustedData(result: unknown): { untrusted: boolean; data: Record<string, unknown> } {
  const [first] = (result as { content: unknown }).content as { type: string; text: string }[];
  return JSON.parse(first!.text) as { untrusted: boolean; data: Record<string, unknown> };
}

export function text(result: unknown): string {
  return ((result as { content: unknown }).content as { text: string }[]).map((c) => c.text).join('\n');
}

/** The gateway's counters, as a client reads them from auraison://mcp/gateway. */
export async function gatewayCounters(
  client: Client,
): Promise<{ sessions: number; calls: Record<string, number>; refused: Record<string, number> }> {
  const read = await client.readResource({ uri: 'auraison://mcp/gateway' });
  return JSON.parse((read.contents[0] as { text: string }).text) as Awaited<ReturnType<typeof gatewayCounters>>;
}

/** One sample of the daemon's /metrics, e.g. `auraison_mcp_refused_total{tool="publish",reason="stop_latch"}`. */
export async function metric(url: string, sample: string, token?: string): Promise<number | undefined> {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const text = await (await fetch(`${url}/metrics`, { headers })).text();
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  return line === undefined ? undefined : Number(line.slice(sample.length + 1));
}
