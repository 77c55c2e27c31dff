import {
  Agent,
  type AfterToolCallResult,
  type AgentMessage,
  type AgentTool,
  type BeforeToolCallResult,
} from '@mariozechner/pi-agent-core';
import type { Api, AssistantMessage, Message, Model } from '@mariozechner/pi-ai';
import type { ToolResult } from '../contract/index.ts';
import { outputText } from '../policy/index.ts';
import type { LiveRun } from './live-run.ts';
import type { ModelService } from './model-service.ts';
import { closedGuard, replayFirst, uniqueCallIds } from './run-streams.ts';
import type { SkillDefinition } from './skills/index.ts';
import type { ToolInvoker, Verdict } from './tool-invoker.ts';
import { runValidators } from './refine.ts';
import type { ValidatorEnv, ValidatorSpec } from './validators.ts';

export interface LlmRunDeps {
  model: ModelService;
  invoker: ToolInvoker;
  skills: readonly SkillDefinition[];
  systemPrompt: string;
  maxRefines: number;
  validatorEnv: (live: LiveRun) => ValidatorEnv;
}

/** The model sees tool results as quoted data: a result cannot close the quote and speak as the system. */
export function renderToolResult(tool: string, output: unknown): string {
  return quoteToolResult(tool, typeof output === 'string' ? output : (JSON.stringify(output) ?? ''));
}

/** renderToolResult of a result whose output text is known already (see outputText). */
function quoteToolResult(tool: string, text: string): string {
  const body = text.replace(/<\/?tool_result/gi, (m) => m.replace('<', '&lt;'));
  return `<tool_result tool="${tool}" trust="untrusted">\n${body}\n</tool_result>`;
}

const PLACEHOLDER_MODEL: Model<Api> = {
  id: 'none',
  name: 'none',
  api: 'none',
  provider: 'none',
  baseUrl: '',
  reasoning: false,
  input: ['text'],
  cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
  contextWindow: 0,
  maxTokens: 0,
};

/**
 * A natural-language run: a pi Agent with the skills as tools, the policy chain in its beforeToolCall and
 * afterToolCall hooks, and every message journaled as an `llm.message` event. A run that paused for
 * approval and outlived the daemon resumes from those events: the transcript up to the paused assistant
 * message is restored, that message is replayed (not asked of the model again), calls that already ran
 * return their recorded results, and the loop goes on from the paused call.
 */
export async function runNaturalLanguage(
  live: LiveRun,
  text: string,
  validators: readonly ValidatorSpec[],
  deps: LlmRunDeps,
): Promise<void> {
  const transcript = transcriptOf(live);
  const resume = transcript.length > 0 ? pausedBatch(transcript) : undefined;
  const tools = deps.skills.map((skill) => toAgentTool(skill, live, deps.invoker));
  const known = new Set<string>(deps.skills.map((skill) => skill.name));
  // Calls that reached the hooks. pi answers the others itself (a tool the agent lacks, arguments that do
  // not match the schema): they are journaled and counted as refused when their results are journaled.
  const heard = new Set<string>();
  // Messages are journaled from pi's state at the points the run passes anyway (before a tool call, before
  // each model request, when the loop returns) rather than from a listener: pi awaits its listeners on
  // every streamed event. Each is journaled before any of its tool calls acts; tool results are journaled
  // as `tool.result` events (the transcript is rebuilt from them).
  // Callbacks are methods, not arrow functions: tsx names every named closure with a defineProperty call,
  // and these are made for every run.
  let journaled = resume?.before.length ?? 0;
  const run = {
    journalMessages(): Promise<void> | undefined {
      const messages = agent.state.messages;
      let overQuota: Promise<void> | undefined;
      for (; journaled < messages.length; journaled++) {
        const message = messages[journaled] as Message;
        if (message.role === 'toolResult' && (!known.has(message.toolName) || !heard.has(message.toolCallId))) {
          const over = deps.invoker.refuseAnsweredByPi(
            live,
            message.toolName,
            message.toolCallId,
            textOf(message.content),
          );
          if (over) overQuota ??= overToolQuota(live, over);
        }
        if (message === resume?.paused || message.role === 'toolResult') continue;
        live.note('llm.message', { message });
        if (message.role === 'assistant')
          overQuota ??= countTokens(live, message, deps.model.usageEstimated?.(message) ?? false);
      }
      return overQuota;
    },
    abort(): void {
      agent.abort();
    },
    before(callId: string, tool: string, args: unknown): Promise<BeforeToolCallResult | undefined> {
      heard.add(callId);
      if (live.closed)
        return Promise.resolve({ block: true, reason: `the run ended: ${live.run.reason ?? live.run.status}` });
      const pending = deps.invoker.before(live, tool, args, callId);
      if (pending instanceof Promise) return pending.then(run.blockUnless);
      return pending.ok ? UNCHANGED : run.blockUnless(pending);
    },
    async blockUnless(verdict: Verdict): Promise<BeforeToolCallResult | undefined> {
      if (!verdict.ok && verdict.quota) await overToolQuota(live, verdict.quota);
      return verdict.ok ? undefined : { block: true, reason: verdict.reason };
    },
  };
  const asked = uniqueCallIds(transcript, deps.model.streamFn);
  const model = closedGuard(live, resume ? replayFirst(resume.paused, asked) : asked);
  const agent: Agent = new Agent({
    initialState: {
      systemPrompt: deps.systemPrompt,
      model: deps.model.primaryModel ?? PLACEHOLDER_MODEL,
      tools,
      messages: resume?.before ?? [],
    },
    streamFn(m, context, options) {
      const overQuota = run.journalMessages();
      return overQuota ? overQuota.then(() => model(m, context, options)) : model(m, context, options);
    },
    toolExecution: 'sequential',
    sessionId: live.run.run_id,
    // Not async: pi awaits what the hooks return, and nearly every call is decided without waiting, so
    // the common case hands back one shared settled promise instead of an async function's frame.
    beforeToolCall({ toolCall, args }) {
      const overQuota = run.journalMessages();
      if (overQuota) return overQuota.then(() => run.before(toolCall.id, toolCall.name, args));
      return run.before(toolCall.id, toolCall.name, args);
    },
    afterToolCall({ toolCall, args, result, isError }) {
      if (live.done.has(toolCall.id)) return UNCHANGED;
      const raw: ToolResult = isError ? { ok: false, error: textOf(result.content) } : (result.details as ToolResult);
      const input = live.rewritten.get(toolCall.id) ?? args;
      const pending = deps.invoker.after(live, toolCall.name, input, raw, toolCall.id);
      if (pending instanceof Promise) return pending.then((screened) => screenedResult(toolCall.name, raw, screened));
      return pending === raw ? UNCHANGED : Promise.resolve(screenedResult(toolCall.name, raw, pending));
    },
  });
  const offEnd = live.onEnd(run.abort);
  try {
    if (live.run.status !== 'running') await live.status('running');
    live.startClock();
    // Resumed with its wall-time quota spent already: it ended there.
    if (live.closed) return;
    if (resume) await agent.continue();
    else await agent.prompt(text);
    await untilValidated(live, agent, () => run.journalMessages(), validators, deps);
  } finally {
    offEnd();
  }
}

/**
 * Once the agent has answered: the run ends failed if System 2 failed, succeeded once its validators pass,
 * and otherwise the agent is asked again with the validator's feedback, up to max_refines times.
 */
async function untilValidated(
  live: LiveRun,
  agent: Agent,
  journalMessages: () => Promise<void> | undefined,
  validators: readonly ValidatorSpec[],
  deps: LlmRunDeps,
): Promise<void> {
  let refines = live.record.events.filter((e) => e.kind === 'refine.attempt').length;
  for (;;) {
    await journalMessages();
    if (live.closed) return;
    const last = agent.state.messages.findLast(
      (m: AgentMessage): m is AssistantMessage => (m as Message).role === 'assistant',
    );
    if (!last || last.stopReason === 'error' || last.stopReason === 'aborted') {
      await live.finish('failed', `System 2 failed: ${last?.errorMessage ?? 'no answer'}`);
      return;
    }
    const failed = await runValidators(live, validators, refines + 1, deps.validatorEnv);
    if (live.closed) return;
    if (!failed) {
      await live.finish('succeeded', textOf(last.content).slice(0, 500) || undefined);
      return;
    }
    if (refines >= deps.maxRefines) {
      await live.finish(
        'failed',
        `validator ${failed.validator} still failing after ${refines + 1} attempts: ${failed.feedback}`,
      );
      return;
    }
    refines++;
    await live.event('refine.attempt', {
      attempt: refines + 1,
      validator: failed.validator,
      feedback: failed.feedback,
    });
    await agent.prompt(
      `The result was checked and it is not done: ${failed.validator} failed (${failed.feedback}). Try again.`,
    );
  }
}

/** What a hook answers when it leaves the call as it is: settled once, shared by every call. */
const UNCHANGED: Promise<undefined> = Promise.resolve(undefined);

/** The result the model is given when the after-chain changed it; undefined when it did not. */
function screenedResult(tool: string, raw: ToolResult, screened: ToolResult): AfterToolCallResult | undefined {
  if (screened === raw) return undefined;
  return screened.ok
    ? { content: [{ type: 'text', text: renderToolResult(tool, screened.output) }], details: screened, isError: false }
    : { content: [{ type: 'text', text: screened.error }], details: screened, isError: true };
}

function toAgentTool(skill: SkillDefinition, live: LiveRun, invoker: ToolInvoker): AgentTool {
  return {
    name: skill.name,
    label: skill.name,
    description: skill.description,
    parameters: skill.parameters,
    executionMode: 'sequential',
    async execute(toolCallId, params) {
      const input = live.rewritten.get(toolCallId) ?? params;
      const result = await invoker.execute(live, skill.name, input, toolCallId);
      if (!result.ok) throw new Error(result.error);
      return { content: [{ type: 'text', text: quoteToolResult(skill.name, outputText(result)) }], details: result };
    },
  };
}

function countTokens(live: LiveRun, message: AssistantMessage, estimated: boolean): Promise<void> | undefined {
  live.tokens += message.usage?.totalTokens ?? 0;
  if (estimated) live.tokensEstimated = true;
  if (live.tokens <= live.quotas.maxTokens) return undefined;
  return overTokenQuota(live);
}

async function overTokenQuota(live: LiveRun): Promise<void> {
  const how = live.tokensEstimated ? ' (estimated: the endpoint sent no usage)' : '';
  const reason = `the run used ${live.tokens} tokens${how}, over its quota of ${live.quotas.maxTokens}`;
  await live.event('policy.decision', { hook: 'quota', rule: 'quota.tokens', action: 'deny', reason, stage: 'model' });
  await live.finish('failed', `quota.tokens: ${reason}`);
}

/** Past the tool-call quota the run ends: a model told "refused" may well call again, and again. */
async function overToolQuota(live: LiveRun, reason: string): Promise<void> {
  await live.finish('failed', reason);
}

function textOf(content: readonly { type: string; text?: string }[]): string {
  return content
    .filter((c) => c.type === 'text')
    .map((c) => c.text ?? '')
    .join('');
}

/** What the model saw for a tool result: its output quoted as data, or the error text. */
function toolResultContent(tool: string, result: ToolResult): string {
  return result.ok ? renderToolResult(tool, result.output) : result.error;
}

/**
 * The run's transcript from its events: `llm.message` events hold the user's and the model's messages, and
 * each `tool.result` event the result the model was given. A call that got no result (a tool the model
 * made up, which pi answers itself) gets pi's answer back.
 */
function transcriptOf(live: LiveRun): Message[] {
  const messages: Message[] = [];
  const answered = new Set<string>();
  for (const e of live.record.events) {
    if (e.kind === 'llm.message') messages.push(e.payload.message as Message);
    else if (e.kind === 'tool.result') {
      const result = (e.payload.screened ?? e.payload.result) as ToolResult;
      const callId = String(e.payload.call_id);
      answered.add(callId);
      messages.push({
        role: 'toolResult',
        toolCallId: callId,
        toolName: String(e.payload.tool),
        content: [{ type: 'text', text: toolResultContent(String(e.payload.tool), result) }],
        isError: !result.ok,
        timestamp: 0,
      });
    }
  }
  // Calls before the last assistant message all had results; those without one were unknown tools.
  const last = messages.findLastIndex((m) => m.role === 'assistant');
  const out: Message[] = [];
  for (const [i, m] of messages.entries()) {
    out.push(m);
    if (m.role !== 'assistant' || i === last) continue;
    for (const call of m.content) {
      if (call.type === 'toolCall' && !answered.has(call.id)) {
        out.push({
          role: 'toolResult',
          toolCallId: call.id,
          toolName: call.name,
          content: [{ type: 'text', text: `Tool ${call.name} not found` }],
          isError: true,
          timestamp: 0,
        });
      }
    }
  }
  return out;
}

/**
 * The batch a run paused in: the last assistant message whose tool calls have not all got results. The
 * transcript before it is restored as is; the message itself is replayed to the loop.
 */
function pausedBatch(transcript: Message[]): { before: Message[]; paused: AssistantMessage } | undefined {
  const index = transcript.findLastIndex((m) => m.role === 'assistant');
  if (index < 0) return undefined;
  const paused = transcript[index] as AssistantMessage;
  const calls = paused.content.filter((c) => c.type === 'toolCall');
  const answered = new Set(transcript.slice(index + 1).flatMap((m) => (m.role === 'toolResult' ? [m.toolCallId] : [])));
  if (calls.length === 0 || calls.every((c) => answered.has(c.id))) return undefined;
  return { before: transcript.slice(0, index), paused };
}
