import { ActionGoals } from '../daemon/actions/action-goals.ts';
import { Agent, type AgentTool } from '@mariozechner/pi-agent-core';
import {
  fauxAssistantMessage,
  fauxToolCall,
  registerFauxProvider,
  streamSimple,
  type FauxResponseStep,
} from '@mariozechner/pi-ai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { stringify } from 'yaml';
import { AgentComponent } from '../daemon/agent/agent-component.ts';
import type { ModelService } from '../daemon/agent/index.ts';
import { renderToolResult } from '../daemon/agent/llm-run.ts';
import { SKILLS } from '../daemon/agent/index.ts';
import { systemPrompt } from '../daemon/agent/system-prompt.ts';
import { Bus } from '../daemon/bus/index.ts';
import { MessageCodec } from '../daemon/bus/index.ts';
import { DefinitionsRegistry } from '../daemon/bus/index.ts';
import { RobotGraph } from '../daemon/bus/index.ts';
import { parseConfigText } from '../daemon/config/index.ts';
import { DEFAULT_SCOPE } from '../daemon/names/index.ts';
import { newId } from '../daemon/util/index.ts';
import type { AgentEvent, RunState } from '../daemon/contract/index.ts';
import { RunStore } from '../daemon/agent/index.ts';
import type { Journal, JournalRecord } from '../daemon/contract/index.ts';
import { DurableJournal, type FsyncPolicy } from '../daemon/journal/index.ts';
import { CmdVelGate } from '../daemon/motion/index.ts';
import { HaltAuthority } from '../daemon/halt/index.ts';
import { RobotInputs } from '../daemon/motion/index.ts';
import { ProvidedPorts } from '../daemon/lifecycle/index.ts';
import { MotionLock } from '../daemon/agent/index.ts';
import { percentile, spread, tail, type BenchResult } from './bench.ts';
import { appendRun, callRecordsRun, heldRecordBytes, oneCallsRecords } from './agent-appends.ts';

// The edge agent's own overhead per tool call: a natural-language run whose model (pi-ai's faux provider,
// answering at once) calls the `stop` skill CALLS times, then answers. Ours: the whole agent (intent
// validation, a durable run in the journal, the policy chain before and after every call, tool.call,
// tool.result and llm.message events in one journal record a call, the CmdVelGate). Baseline, in the same
// run and interleaved: a bare pi-agent-core Agent with the same skill as its only tool, the same faux
// model, the same system prompt, a session id per run as ours sends, and the same tool-result text, so the
// faux model reads the same transcript in both and does the same work (ours is configured with only that
// skill too). The journal is
// the real one; `fsync: never` (an append is done once the OS has the bytes: one write per tool call)
// isolates the loop's cost from the disk's; fsync: always is shown for reference. `stop` acts before its
// tool.call is durable (the one skill that does), but the call still waits for that write before its result
// goes back to the model: each call pays one write, as a call of any other skill does.
//
// Figures are steady state: both loops run WARMUP rounds first, until the JIT has compiled them (a
// daemon's agent runs for days). The first rounds, before that, are reported in the notes.

const CALLS = 20;
const ROUNDS = Number(process.env.AGENT_BENCH_ROUNDS ?? 40);
const WARMUP = Number(process.env.AGENT_BENCH_WARMUP ?? 60);
const COLD = Math.min(10, WARMUP);
/** The measured runs are taken in this many rounds, each round's figures shown with the best and the worst. */
const GROUPS = 4;
const SYSTEM_PROMPT = 'bench';

const definitions = new DefinitionsRegistry({ distro: 'jazzy', dirs: [] });

function script(faux: ReturnType<typeof registerFauxProvider>): void {
  const steps: FauxResponseStep[] = [];
  for (let i = 0; i < CALLS; i++)
    steps.push(fauxAssistantMessage([fauxToolCall('stop', {})], { stopReason: 'toolUse' }));
  steps.push(fauxAssistantMessage('Stopped.'));
  faux.setResponses(steps);
}

/** One run's ms per tool call (the mean over the run), and the gaps between its successive calls, ms. */
interface RunFigures {
  perCall: number;
  gaps: number[];
}

/** The gaps between successive times, ms: one tool call's whole turn each (model, policy, tool, journal). */
const gaps = (stamps: readonly number[]): number[] => stamps.slice(1).map((t, i) => t - stamps[i]!);

async function bareRun(faux: ReturnType<typeof registerFauxProvider>, bus: Bus): Promise<RunFigures> {
  const codec = new MessageCodec(definitions);
  const gate = new CmdVelGate({
    bus,
    codec,
    limits: { topic: '/cmd_vel', max_linear_x: 0.22, max_angular_z: 2.84, mode: 'clamp' },
  });
  const env = {
    bus,
    codec,
    gate,
    motion: new MotionLock(),
    settings: {} as never,
    names: DEFAULT_SCOPE,
    log: pino({ level: 'silent' }),
    navigation: () => undefined,
    policies: () => undefined,
  };
  const skill = SKILLS.stop;
  const idle = new AbortController().signal; // pi passes its run's signal; this is only its type's fallback
  script(faux);
  const stamps: number[] = [];
  // Timed from here, as ours is from the intent: making the tool and the pi Agent is part of every run.
  const start = process.hrtime.bigint();
  const tool: AgentTool = {
    name: skill.name,
    label: skill.name,
    description: skill.description,
    parameters: skill.parameters,
    executionMode: 'sequential',
    // The same text as ours gives the model, so the faux model reads the same transcript in both loops.
    execute: async (_id, _params, signal) => {
      stamps.push(performance.now()); // as each of ours is stamped at its tool.call record: once per call
      const result = await skill.execute({}, env, signal ?? idle);
      return { content: [{ type: 'text', text: renderToolResult(skill.name, result) }], details: {} };
    },
  };
  // The same system prompt and a session id per run, as ours sends: the faux model's own work (it
  // serializes the context, and compares it with the session's last one) is then the same in both.
  const agent = new Agent({
    initialState: { systemPrompt: systemPrompt(SYSTEM_PROMPT, {}), model: faux.getModel(), tools: [tool] },
    streamFn: streamSimple,
    toolExecution: 'sequential',
    sessionId: newId(),
  });
  await agent.prompt('stop the robot, repeatedly');
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  gate.close();
  if (faux.getPendingResponseCount() !== 0) throw new Error('the bare loop did not use every scripted reply');
  return { perCall: ms / CALLS, gaps: gaps(stamps) };
}

/** The events of ours' last run, for callRecordsRun. */
let lastEvents: readonly AgentEvent[] = [];

async function oursRun(
  agent: AgentComponent,
  journal: Journal,
  faux: ReturnType<typeof registerFauxProvider>,
): Promise<RunFigures> {
  script(faux);
  const stamps: number[] = [];
  const offCalls = journal.subscribe((r) => {
    if (r.kind === 'agent_event' && (r.data as AgentEvent).kind === 'tool.call') stamps.push(performance.now());
  });
  const intent = {
    intent_id: newId(),
    type: 'natural_language',
    params: { text: 'stop the robot, repeatedly' },
    policy_ctx: { actor: 'bench', source: 'internal' },
    targets: [],
  };
  const start = process.hrtime.bigint();
  const { run_id } = await agent.submitIntent(intent, 'internal');
  // The run ends with a durable state record: wait for it on the journal, not by polling.
  const record = agent.store.get(run_id)!;
  const state = await new Promise<RunState>((resolve) => {
    if (record.run.status !== 'pending' && record.run.status !== 'running') return resolve(record.run);
    const off = journal.subscribe((r) => {
      const data = r.data as RunState;
      if (r.kind === 'run_state' && data.run_id === run_id && data.status !== 'pending' && data.status !== 'running') {
        off();
        resolve(data);
      }
    });
  });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  offCalls();
  if (state.status !== 'succeeded') throw new Error(`bench run ${state.status}: ${state.reason}`);
  const events = agent.getRun(run_id)!.events;
  const calls = events.filter((e) => e.kind === 'tool.call').length;
  if (calls !== CALLS) throw new Error(`bench run made ${calls} tool calls, expected ${CALLS}`);
  lastEvents = events;
  return { perCall: ms / CALLS, gaps: gaps(stamps) };
}

/**
 * A journal that only does the CPU work of one (a JSON record per append, kept in memory): it isolates
 * the agent's own code from the journal's write path.
 */
class SerializingJournal implements Journal {
  #records: JournalRecord[] = [];
  #listeners = new Set<(record: JournalRecord) => void>();
  get lastSeq(): number {
    return this.#records.length;
  }
  async append(kind: string, data: unknown): Promise<JournalRecord> {
    const record: JournalRecord = { seq: this.#records.length + 1, ts: '0', kind, data };
    JSON.stringify(record);
    this.#records.push(record);
    for (const listener of this.#listeners) listener(record);
    return record;
  }
  read(fromSeq: number, limit: number): JournalRecord[] {
    return this.#records.slice(fromSeq - 1, fromSeq - 1 + limit);
  }
  subscribe(listener: (record: JournalRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
  async close(): Promise<void> {}
}

async function agentFor(
  fsync: FsyncPolicy | 'memory',
  dir: string,
  bus: Bus,
  model: ModelService,
): Promise<{ agent: AgentComponent; journal: Journal & { close(): Promise<void> } }> {
  const journal =
    fsync === 'memory' ? new SerializingJournal() : new DurableJournal({ dir: join(dir, `log-${fsync}`), fsync });
  const config = parseConfigText(
    stringify({
      agent: {
        rules: { quotas: { max_tool_calls: 100_000, max_tokens: 100_000_000 } },
        intent_topic: '',
        skills: ['stop'],
        system_prompt: SYSTEM_PROMPT,
      },
    }),
    'bench.yaml',
    {},
  );
  const ports = new ProvidedPorts();
  const ctx = {
    config,
    bus,
    definitions,
    graph: new RobotGraph(),
    robot: new RobotInputs({
      bus,
      graph: new RobotGraph(),
      codec: new MessageCodec(definitions),
      settings: config.motion.joints,
      log: pino({ level: 'silent' }),
    }),
    log: pino({ level: 'silent' }),
    dataDir: dir,
    journal,
    actionGoals: new ActionGoals(),
    haltAuthority: new HaltAuthority({
      bus,
      codec: new MessageCodec(definitions),
      config,
      dataDir: dir,
      journal: () => journal,
      log: pino({ level: 'silent' }),
    }),
    daemonStatus: () => ({}) as never,
    components: new Map(),
    ports,
    provide: ports.provide,
  };
  const agent = new AgentComponent(ctx, { model });
  await agent.start();
  return { agent, journal };
}

export async function run(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'agent-bench-'));
  const bus = new Bus();
  const bareFaux = registerFauxProvider();
  const oursFaux = registerFauxProvider();
  const model: ModelService = {
    streamFn: streamSimple,
    primaryModel: oursFaux.getModel(),
    available: () => ({ ok: true }),
  };
  // A bus each, as each daemon has one agent on its bus.
  const buses = [new Bus(), new Bus(), new Bus()];
  const never = await agentFor('never', dir, buses[0]!, model);
  const appendOnly = new DurableJournal({ dir: join(dir, 'log-append'), fsync: 'never' });
  const callRecordsOnly = new DurableJournal({ dir: join(dir, 'log-call-records'), fsync: 'never' });
  const callRecords = new RunStore(callRecordsOnly, { keepFinished: 1 });
  const always = await agentFor('always', dir, buses[1]!, model);
  const memory = await agentFor('memory', dir, buses[2]!, model);
  const bareRuns: RunFigures[] = [];
  const oursRuns: RunFigures[] = [];
  const durable: number[] = [];
  const loopOnly: number[] = [];
  const appendRuns: number[] = [];
  const callAppends: number[] = [];
  const threeRecordAppends: number[] = [];
  const coldBare: number[] = [];
  const coldOurs: number[] = [];
  let heldBytes: string;
  try {
    for (let i = 0; i < WARMUP + ROUNDS; i++) {
      const b = await bareRun(bareFaux, bus);
      const o = await oursRun(never.agent, never.journal, oursFaux);
      const m = await oursRun(memory.agent, memory.journal, oursFaux);
      const a = await appendRun(appendOnly, CALLS);
      const c = await callRecordsRun(callRecords, oneCallsRecords(lastEvents), true, CALLS);
      const c3 = await callRecordsRun(callRecords, oneCallsRecords(lastEvents), false, CALLS);
      if (i < COLD) {
        coldBare.push(b.perCall);
        coldOurs.push(o.perCall);
      }
      if (i >= WARMUP) {
        bareRuns.push(b);
        oursRuns.push(o);
        loopOnly.push(m.perCall);
        appendRuns.push(a);
        callAppends.push(c);
        threeRecordAppends.push(c3);
      }
    }
    for (let i = 0; i < Math.max(3, ROUNDS / 8); i++)
      durable.push((await oursRun(always.agent, always.journal, oursFaux)).perCall);
    heldBytes = heldRecordBytes(never.journal);
  } finally {
    await never.agent.close();
    await always.agent.close();
    await memory.agent.close();
    await never.journal.close();
    await always.journal.close();
    await appendOnly.close();
    await callRecordsOnly.close();
    bareFaux.unregister();
    oursFaux.unregister();
    bus.close();
    for (const b of buses) b.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);
  const median = (xs: readonly number[]) => percentile(sorted(xs), 50);
  const perCall = (runs: readonly RunFigures[]) => runs.map((r) => r.perCall);
  const ours = sorted(perCall(oursRuns));
  const bare = sorted(perCall(bareRuns));
  const appends = sorted(appendRuns);
  const oursMs = median(ours);
  const bareMs = median(bare);
  const appendMs = median(appends);
  const allowedMs = 1.5 * bareMs + appendMs;
  // The measured runs in GROUPS rounds, in the order they ran: each round's figure, the best and the worst.
  const rounds = <T>(xs: readonly T[]) =>
    Array.from({ length: GROUPS }, (_, g) => xs.filter((_, i) => Math.floor((i * GROUPS) / xs.length) === g));
  const callGaps = (runs: readonly RunFigures[]) => sorted(runs.flatMap((r) => r.gaps));
  const overAllowed = rounds(oursRuns).map((o, g) => {
    const b = rounds(bareRuns)[g]!;
    const a = rounds(appendRuns)[g]!;
    return median(perCall(o)) / (1.5 * median(perCall(b)) + median(a));
  });
  const gapP99 = (runs: readonly RunFigures[]) => rounds(runs).map((r) => percentile(callGaps(r), 99));
  // The agent's own overhead is what it adds to the bare loop; the goal bounds both the ratio and the total.
  return [
    {
      name: `agent loop per tool call (faux model, ${CALLS} calls/run, journal fsync never)`,
      ours: oursMs,
      baseline: { name: 'bare pi-agent-core Agent', value: bareMs },
      unit: 'ms',
      better: 'lower',
      goal: '<= 1.5x the bare loop plus one durable append, and < 1 ms',
      met: oursMs <= allowedMs && oursMs < 1,
      notes: [
        `one durable append (a tool.call record, DurableJournal fsync never, awaited), measured in the same rounds: ${tail(appends, 'ms', 4)}; allowed 1.5 x ${bareMs.toFixed(4)} + ${appendMs.toFixed(4)} = ${allowedMs.toFixed(4)} ms`,
        `each tool call's whole turn (tool call to the next, ${callGaps(oursRuns).length} calls): ours ${tail(callGaps(oursRuns), 'ms', 3)}; bare ${tail(callGaps(bareRuns), 'ms', 3)}`,
        `per round of ${ROUNDS / GROUPS} runs: ours per call over the allowed figure ${spread(overAllowed, 3)} (met where <= 1); turn p99, ms: ours ${spread(gapP99(oursRuns), 3)}, bare ${spread(gapP99(bareRuns), 3)}`,
        `what one call of ours journals, ${heldBytes}, written as ours writes it, same rounds: p50 ${median(callAppends).toFixed(4)} ms; the same events as one record each (${oneCallsRecords(
          lastEvents,
        )
          .map((e) => `${e.kind} ${Buffer.byteLength(JSON.stringify(e))} B`)
          .join(
            ', ',
          )}, the shape before 2026-11-26) in one batch: p50 ${median(threeRecordAppends).toFixed(4)} ms; the single tool.call record the goal allows: ${appendMs.toFixed(4)} ms`,
        `journal: DurableJournal with fsync never (each tool call's records reach the OS in one write, which the call waits for); per run, ms per call: ours ${tail(ours, 'ms', 3)}, bare ${tail(bare, 'ms', 3)} over ${ROUNDS} runs after ${WARMUP} warm-up runs; added per call ${(oursMs - bareMs).toFixed(3)} ms`,
        `cold (the first ${COLD} runs, before the JIT has compiled the loops): ours ${median(coldOurs).toFixed(3)} ms, bare ${median(coldBare).toFixed(3)} ms per call`,
      ],
    },
    {
      name: 'agent loop per tool call, journal I/O left out (serialize only)',
      ours: median(loopOnly),
      baseline: { name: 'bare pi-agent-core Agent', value: bareMs },
      unit: 'ms',
      better: 'lower',
      notes: [
        "the same runs with a journal that JSON-serializes each record and keeps it in memory: the agent's own code, without the write path",
      ],
    },
    {
      name: 'agent loop per tool call, journal fsync always (disk-bound, for reference)',
      ours: median(durable),
      unit: 'ms',
      better: 'lower',
      notes: [
        "the loop waits for one fdatasync per tool call (its tool.call, with the records noted before it); the tool result's fsync overlaps the next model request: this is the disk's fsync latency",
      ],
    },
  ];
}
