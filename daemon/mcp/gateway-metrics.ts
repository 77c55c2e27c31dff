import type { MetricFamily } from '../contract/index.ts';

/** The gateway's counters as Prometheus families: open sessions, calls per tool, refusals per tool and reason. */
export function gatewayMetrics(counters: {
  sessions: number;
  calls: Record<string, number>;
  refused: Record<string, number>;
}): MetricFamily[] {
  return [
    {
      name: 'auraison_mcp_sessions',
      help: 'MCP sessions open on /mcp.',
      type: 'gauge',
      samples: [{ value: counters.sessions }],
    },
    {
      name: 'auraison_mcp_calls_total',
      help: 'MCP tool calls by tool (stop not counted: it is never refused).',
      type: 'counter',
      samples: Object.entries(counters.calls).map(([tool, value]) => ({ labels: { tool }, value })),
    },
    {
      name: 'auraison_mcp_refused_total',
      help: "MCP calls refused, by tool and reason: rate (mcp.max_calls_per_minute), rate_total (mcp.max_calls_per_minute_total, all sessions together), unexposed (not in mcp.tools; tool 'unknown' for a name the gateway has no tool for), an API error code (forbidden, conflict, ...), the policy rule that denied the call's run (services.deny, stop_latch, velocity.limit, ...), or session:evicted.",
      type: 'counter',
      samples: Object.entries(counters.refused).map(([key, value]) => {
        const at = key.indexOf(':');
        return { labels: { tool: key.slice(0, at), reason: key.slice(at + 1) }, value };
      }),
    },
  ];
}
