import { PORTS } from '../daemon/contract/index.ts';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { runCleanups, type Cleanup } from '../test/helpers/cleanups.ts';
import { startSimDaemon } from '../test/helpers/daemon.ts';
import { percentile, type BenchResult } from './bench.ts';

// The MCP gateway's added latency: a tool call over streamable HTTP (the SDK's client, one session) beside the
// same operation as a plain HTTP request to the route the tool calls, on one daemon in the same run. The
// difference is JSON-RPC framing, the SDK's validation, the in-process inject and the untrusted wrapper.

const CALLS = 300;
const WARMUP = 30;
/**
 * The goal: an MCP call costs at most this much more than the same HTTP request at p50, on 2 cores. A model's turn
 * takes seconds; a few ms of framing is noise beside it, tens would not be.
 */
const GOAL_ADDED_MS = 5;

async function times(n: number, call: () => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await call();
    out.push(performance.now() - start);
  }
  return out.sort((a, b) => a - b);
}

/**
 * The goal is what the MCP call adds, so the row gives that itself (MCP p50 minus HTTP p50, in ms) and no baseline:
 * the runner's ratio column would show HTTP / MCP, a fraction that reads as the inverse of the figure the goal bounds.
 */
function row(tool: string, mcp: number[], http: number[], baselineName: string): BenchResult {
  const ours = percentile(mcp, 50);
  const base = percentile(http, 50);
  const added = ours - base;
  return {
    // Both measured in this run.
    name: `MCP tool ${tool}: p50 added over ${baselineName}`,
    ours: added,
    unit: 'ms added',
    better: 'lower',
    goal: `<= ${GOAL_ADDED_MS} ms added at p50`,
    met: added <= GOAL_ADDED_MS,
    notes: [
      `p50 ${ours.toFixed(2)} ms over MCP vs ${base.toFixed(2)} ms over HTTP: ${signed(added)} ms per call`,
      `p99 ${percentile(mcp, 99).toFixed(2)} ms over MCP vs ${percentile(http, 99).toFixed(2)} ms over HTTP`,
    ],
  };
}

/** `+3.77` or `-0.12`: an MCP call may come out faster than its baseline in a noisy run. */
function signed(ms: number): string {
  return `${ms >= 0 ? '+' : ''}${ms.toFixed(2)}`;
}

export async function run(): Promise<BenchResult[]> {
  const cleanups: Cleanup[] = [];
  try {
    const { daemon } = await startSimDaemon(cleanups, {
      // Both rates far above the calls made: at their defaults (120, 600 a minute) most calls would time a refusal.
      config: {
        api: { enabled: true, port: 0 },
        motion: { stop: { latch: false } },
        mcp: { max_calls_per_minute: 100_000, max_calls_per_minute_total: 100_000 },
      },
    });
    const url = daemon.ports.get(PORTS.api)!.url!;
    const client = new Client({ name: 'bench', version: '1' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${url}/mcp`)));
    cleanups.push(() => client.close());

    // A refused call answers fast: timing one would flatter the gateway, so every call must be answered.
    const answered = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      if (result.isError) throw new Error(`the bench's MCP ${name} call failed: ${JSON.stringify(result.content)}`);
    };
    const mcpRuns = () => answered('runs', { limit: 20 });
    const httpRuns = async () => (await fetch(`${url}/runs?limit=20`)).json();
    const mcpStop = () => answered('stop', {});
    const httpStop = async () =>
      (
        await fetch(`${url}/stop`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ by: 'bench' }),
        })
      ).json();

    await times(WARMUP, mcpRuns);
    await times(WARMUP, httpRuns);
    const runsMcp = await times(CALLS, mcpRuns);
    const runsHttp = await times(CALLS, httpRuns);
    await times(WARMUP, mcpStop);
    await times(WARMUP, httpStop);
    const stopMcp = await times(CALLS, mcpStop);
    const stopHttp = await times(CALLS, httpStop);
    return [row('runs', runsMcp, runsHttp, 'GET /runs?limit=20'), row('stop', stopMcp, stopHttp, 'POST /stop')];
  } finally {
    await runCleanups(cleanups);
  }
}
