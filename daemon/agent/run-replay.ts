import { AgentEventRecord, Intent, RunState, type AgentEvent } from '../contract/index.ts';
import { clipText } from '../util/index.ts';
import type { JournalRecord } from '../contract/index.ts';
import { Validator } from '../util/index.ts';
import { findByPrefix, prefixProblem } from '../util/index.ts';
import { AGENT_EVENT, RUN_STATE } from './run-store.ts';
import { agentEventsOf } from '../contract/index.ts';

/**
 * One step of a run as replayed from the journal: a state change or an event; or, where the journal could
 * not give one, `skipped` (a record of the run that does not match the contract) or `gap` (records that
 * could not be read, which may have been the run's).
 */
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

const runValidator = new Validator(RunState);
const eventValidator = new Validator(AgentEventRecord);
const intentValidator = new Validator(Intent);

/** Finds a run by id or unique id prefix. Throws an Error that says what matched. */
export function resolveRunId(records: readonly JournalRecord[], idOrPrefix: string): string {
  const ids = new Set<string>();
  for (const r of records) if (r.kind === RUN_STATE && runValidator.check(r.data)) ids.add(r.data.run_id);
  const found = findByPrefix(ids, idOrPrefix);
  if (found.id !== undefined) return found.id;
  if (found.matches.length > 0) throw new Error(prefixProblem(idOrPrefix, found.matches));
  throw new Error(`no run ${idOrPrefix} in the journal (${ids.size} runs): list them with \`auraison-edge runs\``);
}

/**
 * Replays a run from its records: every state it went through and every event, in journal order. The
 * journal is read as it is: a record of the run that does not match the contract is shown as skipped, and
 * records that could not be read (their seqs missing) between the run's first and last are shown as a gap.
 */
export function runTimeline(records: readonly JournalRecord[], runId: string): RunTimeline | undefined {
  let run: RunState | undefined;
  let intent: Intent | undefined;
  let start = 0n;
  const entries: TimelineEntry[] = [];
  let lastSeq: number | undefined;
  let gaps: { from: number; to: number }[] = [];
  for (const r of records) {
    if (lastSeq !== undefined && r.seq > lastSeq + 1 && entries.length > 0)
      gaps.push({ from: lastSeq + 1, to: r.seq - 1 });
    lastSeq = r.seq;
    if ((r.data as { run_id?: unknown } | null)?.run_id !== runId) continue;
    for (const gap of gaps) entries.push(gapEntry(gap, entries.at(-1)!.t_s));
    gaps = [];
    if (r.kind === RUN_STATE) {
      if (!runValidator.check(r.data)) {
        entries.push(skipped(r, 'run state', runValidator.issues(r.data), start));
        continue;
      }
      const state = r.data;
      start = start || BigInt(state.created_at);
      run = state;
      entries.push({
        seq: r.seq,
        t_s: seconds(state.updated_at, start),
        kind: 'state',
        text: `${state.status}${state.reason ? `: ${state.reason}` : ''}`,
        data: state,
      });
    } else if (r.kind === AGENT_EVENT) {
      if (!eventValidator.check(r.data)) {
        entries.push(skipped(r, 'agent event', eventValidator.issues(r.data), start));
        continue;
      }
      start = start || BigInt(r.data.ts);
      // A tool call's record carries the events written with it, before it (see AgentEventRecord).
      for (const event of agentEventsOf(r.data)) {
        if (event.kind === 'intent.accepted' && intentValidator.check(event.payload.intent))
          intent = event.payload.intent;
        entries.push({
          seq: r.seq,
          t_s: seconds(event.ts, start),
          kind: event.kind,
          text: describeEvent(event),
          data: event.payload,
        });
      }
    }
  }
  return run ? { run, intent, entries } : undefined;
}

function skipped(
  r: JournalRecord,
  what: string,
  issues: { path: string; message: string }[],
  start: bigint,
): TimelineEntry {
  // The paths only: a message may quote a whole pattern (an id's), which says little here.
  const where = [...new Set(issues.map((i) => i.path || '(the record)'))];
  const t_s = start && /^\d+$/.test(String(r.ts)) ? seconds(String(r.ts), start) : 0;
  const text = `journal record ${r.seq} is not a valid ${what} (wrong or missing: ${clip(where.join(', '), 100)}); not shown`;
  return { seq: r.seq, t_s, kind: 'skipped', text, data: r.data };
}

function gapEntry(gap: { from: number; to: number }, t_s: number): TimelineEntry {
  const which = gap.from === gap.to ? `record ${gap.from}` : `records ${gap.from} to ${gap.to}`;
  return {
    seq: gap.from,
    t_s,
    kind: 'gap',
    text: `journal ${which} could not be read (damaged on disk): events of this run may be missing here`,
    data: gap,
  };
}

function seconds(ts: string, start: bigint): number {
  return Number(BigInt(ts) - start) / 1e9;
}

const clip = (text: string, max = 160) => clipText(text, max);
/** A tool's error is the news of its run, written for people: shown whole up to this many characters. */
const ERROR_SHOWN = 400;
const json = (value: unknown) => clip(JSON.stringify(value) ?? 'undefined');

type LlmContent = { type: string; text?: string; name?: string; arguments?: unknown };

/** One line for an event, for people. A payload not in the shape its kind has is shown as JSON. */
export function describeEvent(event: AgentEvent): string {
  const p = event.payload;
  switch (event.kind) {
    case 'intent.accepted': {
      if (!intentValidator.check(p.intent)) return json(p);
      const i = p.intent;
      const what = i.type === 'natural_language' ? JSON.stringify(i.params.text) : json(i.params);
      return `${i.type} ${what} from ${i.policy_ctx.source} by ${i.policy_ctx.actor}`;
    }
    case 'tool.call':
      return `${String(p.tool)} ${json(p.input)} [${String(p.call_id)}]`;
    case 'tool.result': {
      const result = objectOr(p.result);
      if (!result || typeof result.ok !== 'boolean') return json(p);
      const ms = typeof p.duration_ms === 'number' ? ` in ${p.duration_ms.toFixed(1)} ms` : '';
      const ended = typeof p.run_ended === 'string' ? ` [run ${p.run_ended}]` : '';
      return `${String(p.tool)} ${result.ok ? `ok ${json(result.output)}` : `error: ${clip(String(result.error), ERROR_SHOWN)}`}${ms}${ended}`;
    }
    case 'policy.decision':
      return `${String(p.rule)} ${String(p.action)}${p.tool ? ` ${String(p.tool)}` : ''}: ${String(p.reason)}`;
    case 'approval.requested':
      return `${String(p.tool)} waits for approval (${String(p.rule)}): ${String(p.reason)}`;
    case 'approval.granted':
      return `approved by ${String(p.by)}`;
    case 'approval.expired':
      return `nobody approved call ${String(p.call_id)} in time`;
    case 'run.cancelled':
      return `by ${String(p.by)}${typeof p.reason === 'string' ? `: ${p.reason}` : ''}`;
    case 'validator.result':
      return `${String(p.validator)} ${p.passed ? 'passed' : 'failed'} (score ${Number(p.score).toFixed(2)}): ${String(p.feedback)}`;
    case 'refine.attempt':
      return `attempt ${String(p.attempt)} after ${String(p.validator)} failed`;
    case 'llm.message': {
      const m = objectOr(p.message) as
        | {
            role?: unknown;
            content?: unknown;
            usage?: { totalTokens?: number };
            stopReason?: string;
            errorMessage?: string;
            toolName?: string;
          }
        | undefined;
      if (!m || typeof m.role !== 'string' || !(typeof m.content === 'string' || Array.isArray(m.content)))
        return json(p);
      const content = m.content as string | unknown[];
      const parts = typeof content === 'string' ? [content] : content.map((c) => contentText(c));
      const extra =
        m.role === 'assistant'
          ? ` [${m.stopReason}${m.usage?.totalTokens ? `, ${m.usage.totalTokens} tokens` : ''}${m.errorMessage ? `: ${m.errorMessage}` : ''}]`
          : '';
      return `${m.role}${m.toolName ? ` (${m.toolName})` : ''}: ${clip(parts.join(' ').replace(/\s+/g, ' '))}${extra}`;
    }
    default:
      return json(p);
  }
}

function contentText(c: unknown): string {
  const part = objectOr(c) as LlmContent | undefined;
  if (!part) return json(c);
  return part.type === 'toolCall' ? `${part.name}(${JSON.stringify(part.arguments)})` : (part.text ?? '');
}

function objectOr(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

export function formatTimeline(timeline: RunTimeline): string {
  const { run, intent } = timeline;
  const lines = [
    `run ${run.run_id}: ${run.status}${run.reason ? ` (${run.reason})` : ''}`,
    `intent ${run.intent_id} ${intent?.type ?? '?'}, plan ${run.tree_ref}`,
    '',
  ];
  for (const e of timeline.entries)
    lines.push(`${`+${e.t_s.toFixed(3)}s`.padStart(10)}  ${e.kind.padEnd(18)} ${e.text}`);
  return `${lines.join('\n')}\n`;
}

/** What a run came to, for side-by-side comparison. */
export function runFacts(timeline: RunTimeline): Record<string, string> {
  const events = timeline.entries.filter((e) => e.kind !== 'state' && e.kind !== 'skipped' && e.kind !== 'gap');
  const count = (kind: string) => events.filter((e) => e.kind === kind).length;
  const messages = events
    .filter((e) => e.kind === 'llm.message')
    .map((e) => objectOr((e.data as { message?: unknown }).message));
  const tokens = messages.reduce((n, m) => n + (Number((objectOr(m?.usage) ?? {}).totalTokens) || 0), 0);
  const intent = timeline.intent;
  const last = timeline.entries.findLast((e) => e.kind !== 'skipped' && e.kind !== 'gap');
  return {
    intent: intent
      ? intent.type === 'natural_language'
        ? `natural_language ${JSON.stringify(intent.params.text)}`
        : `${intent.type} ${JSON.stringify(intent.params)}`
      : '?',
    status: timeline.run.status,
    reason: timeline.run.reason ?? '',
    duration_s: last ? last.t_s.toFixed(3) : '0',
    tool_calls: String(count('tool.call')),
    tool_errors: String(
      events.filter((e) => e.kind === 'tool.result' && objectOr((e.data as { result?: unknown }).result)?.ok === false)
        .length,
    ),
    model_turns: String(messages.filter((m) => m?.role === 'assistant').length),
    tokens: String(tokens),
    policy_decisions: events
      .filter((e) => e.kind === 'policy.decision')
      .map((e) => String((e.data as { rule?: unknown }).rule))
      .join(', '),
    approvals: String(count('approval.requested')),
    validators: events
      .filter((e) => e.kind === 'validator.result')
      .map(
        (e) =>
          `${(e.data as { passed?: unknown }).passed ? 'pass' : 'fail'} ${Number((e.data as { score?: unknown }).score).toFixed(2)}`,
      )
      .join(', '),
    unreadable: String(timeline.entries.filter((e) => e.kind === 'skipped' || e.kind === 'gap').length),
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
  const calls = (t: RunTimeline) =>
    t.entries.filter((e) => e.kind === 'tool.call').map((e) => e.text.replace(/ \[[^\]]*\]$/, ''));
  const ca = calls(a);
  const cb = calls(b);
  const rows = Array.from({ length: Math.max(ca.length, cb.length) }, (_, i) => ({
    index: i + 1,
    a: ca[i] ?? '',
    b: cb[i] ?? '',
    same: ca[i] === cb[i],
  }));
  return { a: a.run.run_id, b: b.run.run_id, facts, calls: rows };
}

export function formatDiff(diff: RunDiff): string {
  const width = 48;
  const cell = (s: string) => clip(s, width).padEnd(width);
  const lines = [`${' '.repeat(18)}  ${cell(`A ${diff.a}`)} | B ${diff.b}`];
  for (const f of diff.facts)
    lines.push(`${f.same ? ' ' : '*'} ${f.name.padEnd(16)}  ${cell(f.a)} | ${clip(f.b, width)}`);
  lines.push('', 'tool calls:');
  for (const c of diff.calls)
    lines.push(
      `${c.same ? ' ' : '*'} ${String(c.index).padStart(3)}${' '.repeat(14)}  ${cell(c.a)} | ${clip(c.b, width)}`,
    );
  if (diff.calls.length === 0) lines.push('  (none in either run)');
  return `${lines.join('\n')}\n`;
}
