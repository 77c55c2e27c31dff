import type { MetricFamily } from '../contract/index.ts';
import { counterBy, gauge } from '../util/index.ts';

/** The gateway's counters as Prometheus families: open sessions, calls per tool, refusals per tool and reason. */
export function gatewayMetrics(counters: {
  sessions: number;
  calls: Record<string, number>;
  refused: Record<string, number>;
}): MetricFamily[] {
  return [
    gauge('auraison_mcp_sessions', 'MCP sessions open on /mcp.', counters.sessions),
    counterBy(
      'auraison_mcp_calls_total',
      'MCP tool calls by tool (stop not counted: it is never refused).',
      'tool',
      counters.calls,
    ),
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
