import type { MetricFamily } from '../contract/index.ts';
import type { RunCounters } from './run-store.ts';

/**
 * The agent's metrics: totals over the whole journal, kept by the store as records come (a scrape walks no
 * events), and what the velocity gate did to Twists.
 */
export function agentMetrics(runs: RunCounters, gate: { clamped: number; held: number }): MetricFamily[] {
  const { byStatus, toolCalls, decisions } = runs;
  return [
    {
      name: 'auraison_agent_runs',
      help: 'Runs in the journal, by status.',
      type: 'gauge',
      samples: [...byStatus].map(([status, value]) => ({ labels: { status }, value })),
    },
    {
      name: 'auraison_agent_tool_calls_total',
      help: 'Tool calls run.',
      type: 'counter',
      samples: [{ value: toolCalls }],
    },
    {
      name: 'auraison_agent_policy_decisions_total',
      help: 'Policy rules fired, by rule.',
      type: 'counter',
      samples: [...decisions].map(([rule, value]) => ({ labels: { rule }, value })),
    },
    {
      name: 'auraison_agent_cmd_vel_clamped_total',
      help: 'Twists the gate clamped to the velocity limits.',
      type: 'counter',
      samples: [{ value: gate.clamped }],
    },
    {
      name: 'auraison_agent_cmd_vel_held_total',
      help: "Moving Twists the gate sent as zero while the operator's stop was latched.",
      type: 'counter',
      samples: [{ value: gate.held }],
    },
  ];
}
