import type { MetricFamily } from '../contract/index.ts';
import type { RunCounters } from './run-store.ts';
import { counter, counterBy, gaugeBy } from '../util/index.ts';

/**
 * The agent's metrics: totals over the whole journal, kept by the store as records come (a scrape walks no
 * events), and what the velocity gate did to Twists.
 */
export function agentMetrics(runs: RunCounters, gate: { clamped: number; held: number }): MetricFamily[] {
  const { byStatus, toolCalls, decisions } = runs;
  return [
    gaugeBy('auraison_agent_runs', 'Runs in the journal, by status.', 'status', byStatus),
    counter('auraison_agent_tool_calls_total', 'Tool calls run.', toolCalls),
    counterBy('auraison_agent_policy_decisions_total', 'Policy rules fired, by rule.', 'rule', decisions),
    counter('auraison_agent_cmd_vel_clamped_total', 'Twists the gate clamped to the velocity limits.', gate.clamped),
    counter(
      'auraison_agent_cmd_vel_held_total',
      "Moving Twists the gate sent as zero while the operator's stop was latched.",
      gate.held,
    ),
  ];
}
