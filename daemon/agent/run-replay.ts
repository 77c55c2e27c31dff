import type { AgentEvent, Intent, RunState } from '../contract/schemas.ts';
import type { JournalRecord } from '../contract/services.ts';
import { AGENT_EVENT, RUN_STATE } from './run-store.ts';

/** One step of a run as replayed from the journal: a state change or an event. */
export interface TimelineEntry {
  seq: number;
  /** Seconds since the run was created. */
  t_s: number;
  kind: string;
  text: string;
  data: unknown;
}

export interface RunTimeline {
  run: RunState;
  intent: Intent | undefined;
  entries: TimelineEntry[];
}

/** Finds a run by id or unique id prefix. Throws an Error that says what matched. */
export function resolveRunId(records: readonly JournalRecord[], idOrPrefix: string): string {
  const ids = new Set<string>();
  for (const r of records) if (r.kind === RUN_STATE) ids.add((r.data as RunState).run_id);
  if (ids.has(idOrPrefix)) return idOrPrefix;
  const matches = [...ids].filter((id) => id.startsWith(idOrPrefix));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new Error(`no run ${idOrPrefix} in the journal (${ids.size} runs): list them with \`auraison-edge runs\``);
  throw new Error(`${idOrPrefix} matches ${matches.length} runs: give more of the id`);
}

/** Replays a run from its records: every state it went through and every event, in journal order. */
export function runTimeline(records: readonly JournalRecord[], runId: string): RunTimeline | undefined {
  let run: RunState | undefined;
  let intent: Intent | undefined;
  let start = 0n;
  const entries: TimelineEntry[] = [];
  for (const r of records) {
    const data = r.data as { run_id?: string };
    if (data?.run_id !== runId) continue;
    if (r.kind === RUN_STATE) {
      const state = r.data as RunState;
      start = start || BigInt(state.created_at);
      run = state;
      entries.push({ seq: r.seq, t_s: seconds(state.updated_at, start), kind: 'state', text: `${state.status}${state.reason ? `: ${state.reason}` : ''}`, data: state });
    } else if (r.kind === AGENT_EVENT) {
      const event = r.data as AgentEvent;
      start = start || BigInt(event.ts);
      if (event.kind === 'intent.accepted') intent = event.payload.intent as Intent;
      entries.push({ seq: r.seq, t_s: seconds(event.ts, start), kind: event.kind, text: describeEvent(event), data: event.payload });
    }
  }
  return run ? { run, intent, entries } : undefined;
}

function seconds(ts: string, start: bigint): number {
  return Number(BigInt(ts) - start) / 1e9;
}

const clip = (text: string, max = 160) => (text.length > max ? `${text.slice(0, max - 3)}...` : text);
const json = (value: unknown) => clip(JSON.stringify(value) ?? 'undefined');

type LlmContent = { type: string; text?: string; name?: string; arguments?: unknown };

/** One line for an event, for people. */
export function describeEvent(event: AgentEvent): string {
  const p = event.payload;
  switch (event.kind) {
    case 'intent.accepted': {
      const i = p.intent as Intent;
      const what = i.type === 'natural_language' ? JSON.stringify(i.params.text) : json(i.params);
      return `${i.type} ${what} from ${i.policy_ctx.source} by ${i.policy_ctx.actor}`;
    }
    case 'tool.call':
      return `${String(p.tool)} ${json(p.input)} [${String(p.call_id)}]`;
    case 'tool.result': {
      const result = p.result as { ok: boolean; output?: unknown; error?: string };
      const ms = typeof p.duration_ms === 'number' ? ` in ${p.duration_ms.toFixed(1)} ms` : '';
      return `${String(p.tool)} ${result.ok ? `ok ${json(result.output)}` : `error: ${clip(result.error ?? '')}`}${ms}`;
    }
    case 'policy.decision':
      return `${String(p.rule)} ${String(p.action)}${p.tool ? ` ${String(p.tool)}` : ''}: ${String(p.reason)}`;
    case 'approval.requested':
      return `${String(p.tool)} waits for approval (${String(p.rule)}): ${String(p.reason)}`;
    case 'approval.granted':
      return `approved by ${String(p.by)}`;
    case 'validator.result':
      return `${String(p.validator)} ${p.passed ? 'passed' : 'failed'} (score ${Number(p.score).toFixed(2)}): ${String(p.feedback)}`;
    case 'refine.attempt':
      return `attempt ${String(p.attempt)} after ${String(p.validator)} failed`;
    case 'llm.message': {
      const m = p.message as { role: string; content: string | LlmContent[]; usage?: { totalTokens?: number }; stopReason?: string; errorMessage?: string; toolName?: string };
      const parts = typeof m.content === 'string' ? [m.content] : m.content.map((c) => (c.type === 'toolCall' ? `${c.name}(${JSON.stringify(c.arguments)})` : (c.text ?? '')));
      const extra = m.role === 'assistant' ? ` [${m.stopReason}${m.usage?.totalTokens ? `, ${m.usage.totalTokens} tokens` : ''}${m.errorMessage ? `: ${m.errorMessage}` : ''}]` : '';
      return `${m.role}${m.toolName ? ` (${m.toolName})` : ''}: ${clip(parts.join(' ').replace(/\s+/g, ' '))}${extra}`;
    }
    default:
      return json(p);
  }
}

export function formatTimeline(timeline: RunTimeline): string {
  const { run, intent } = timeline;
  const lines = [
    `run ${run.run_id}: ${run.status}${run.reason ? ` (${run.reason})` : ''}`,
    `intent ${run.intent_id} ${intent?.type ?? '?'}, plan ${run.tree_ref}`,
    '',
  ];
  for (const e of timeline.entries) lines.push(`${`+${e.t_s.toFixed(3)}s`.padStart(10)}  ${e.kind.padEnd(18)} ${e.text}`);
  return `${lines.join('\n')}\n`;
}

/** What a run came to, for side-by-side comparison. */
export function runFacts(timeline: RunTimeline): Record<string, string> {
  const events = timeline.entries.filter((e) => e.kind !== 'state');
  const count = (kind: string) => events.filter((e) => e.kind === kind).length;
  const tokens = events
    .filter((e) => e.kind === 'llm.message')
    .reduce((n, e) => n + (((e.data as { message: { usage?: { totalTokens?: number } } }).message.usage?.totalTokens as number | undefined) ?? 0), 0);
  const intent = timeline.intent;
  const last = timeline.entries.at(-1);
  return {
    intent: intent ? (intent.type === 'natural_language' ? `natural_language ${JSON.stringify(intent.params.text)}` : `${intent.type} ${JSON.stringify(intent.params)}`) : '?',
    status: timeline.run.status,
    reason: timeline.run.reason ?? '',
    duration_s: last ? last.t_s.toFixed(3) : '0',
    tool_calls: String(count('tool.call')),
    tool_errors: String(events.filter((e) => e.kind === 'tool.result' && !(e.data as { result: { ok: boolean } }).result.ok).length),
    model_turns: String(events.filter((e) => e.kind === 'llm.message' && (e.data as { message: { role: string } }).message.role === 'assistant').length),
    tokens: String(tokens),
    policy_decisions: events.filter((e) => e.kind === 'policy.decision').map((e) => String((e.data as { rule: string }).rule)).join(', '),
    approvals: String(count('approval.requested')),
    validators: events.filter((e) => e.kind === 'validator.result').map((e) => `${(e.data as { passed: boolean }).passed ? 'pass' : 'fail'} ${Number((e.data as { score: number }).score).toFixed(2)}`).join(', '),
  };
}

export interface RunDiff {
  a: string;
  b: string;
  facts: { name: string; a: string; b: string; same: boolean }[];
  calls: { index: number; a: string; b: string; same: boolean }[];
}

/** Two runs side by side: their facts, then their tool calls in order. */
export function diffRuns(a: RunTimeline, b: RunTimeline): RunDiff {
  const fa = runFacts(a);
  const fb = runFacts(b);
  const facts = Object.keys(fa).map((name) => ({ name, a: fa[name]!, b: fb[name]!, same: fa[name] === fb[name] }));
  const calls = (t: RunTimeline) => t.entries.filter((e) => e.kind === 'tool.call').map((e) => e.text.replace(/ \[[^\]]*\]$/, ''));
  const ca = calls(a);
  const cb = calls(b);
  const rows = Array.from({ length: Math.max(ca.length, cb.length) }, (_, i) => ({ index: i + 1, a: ca[i] ?? '', b: cb[i] ?? '', same: ca[i] === cb[i] }));
  return { a: a.run.run_id, b: b.run.run_id, facts, calls: rows };
}

export function formatDiff(diff: RunDiff): string {
  const width = 48;
  const cell = (s: string) => clip(s, width).padEnd(width);
  const lines = [`${' '.repeat(18)}  ${cell(`A ${diff.a}`)} | B ${diff.b}`];
  for (const f of diff.facts) lines.push(`${f.same ? ' ' : '*'} ${f.name.padEnd(16)}  ${cell(f.a)} | ${clip(f.b, width)}`);
  lines.push('', 'tool calls:');
  for (const c of diff.calls) lines.push(`${c.same ? ' ' : '*'} ${String(c.index).padStart(3)}${' '.repeat(14)}  ${cell(c.a)} | ${clip(c.b, width)}`);
  if (diff.calls.length === 0) lines.push('  (none in either run)');
  return `${lines.join('\n')}\n`;
}
