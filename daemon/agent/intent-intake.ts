import type { PolicyHook } from '../contract/index.ts';
import { runPolicyChain } from '../policy/index.ts';
import type { Intent, RunState, SubmittedIntent } from '../contract/index.ts';
import type { NameScope } from '../names/index.ts';
import { AgentError } from './errors.ts';
import { intentDifferences, parseIntent, type IntentSource, type ParsedIntent } from './intents.ts';
import type { LiveRun } from './live-run.ts';
import type { LiveRuns } from './live-runs.ts';
import type { ModelService } from './model-service.ts';
import type { RobotHalt } from './robot-halt.ts';
import type { RunStore } from './run-store.ts';
import type { SkillDefinition } from './skills/index.ts';
import { misdirection } from './intent-targets.ts';

export interface IntentIntakeOptions {
  store: RunStore;
  runs: LiveRuns;
  haltAuthority: RobotHalt;
  skills: ReadonlyMap<string, SkillDefinition>;
  names: NameScope;
  /** This robot's id, asked per intent: an intent for another robot is refused. */
  robotId: () => string;
  /** Who runs a natural-language intent (`llm:<agent.name>`), journaled with its run. */
  llmRunner: string;
  /** The hooks every intent passes before its run starts; asked per intent, as a reload replaces them. */
  intentHooks: () => readonly PolicyHook[];
  /** System 2, when it runs. */
  model: () => ModelService | undefined;
  /** Why the agent stopped, once it did: an intent accepted then must not start. */
  stopped: () => string | undefined;
}

/**
 * Where every intent comes in (HTTP, MQTT, ROS, Zenoh, the CLI): parsed, checked for its target, made a durable
 * run, passed through the intent hooks and started. Intents arrive at least once, so the same intent id is the
 * same run; callers must not start a run of their own for an intent they submitted.
 */
export class IntentIntake {
  readonly #store: RunStore;
  readonly #runs: LiveRuns;
  readonly #haltAuthority: RobotHalt;
  readonly #skills: ReadonlyMap<string, SkillDefinition>;
  readonly #names: NameScope;
  readonly #robotId: () => string;
  readonly #llmRunner: string;
  readonly #intentHooks: () => readonly PolicyHook[];
  readonly #model: () => ModelService | undefined;
  readonly #closed: () => string | undefined;
  /** Intents being accepted (before their run is durable), by intent id: a second delivery waits on the first. */
  #submitting = new Map<string, { intent: Intent; accepting: Promise<RunState> }>();

  constructor(options: IntentIntakeOptions) {
    const { store, runs, haltAuthority, skills, names, robotId, llmRunner, intentHooks, model, stopped } = options;
    this.#store = store;
    this.#runs = runs;
    this.#haltAuthority = haltAuthority;
    this.#skills = skills;
    this.#names = names;
    this.#robotId = robotId;
    this.#llmRunner = llmRunner;
    this.#intentHooks = intentHooks;
    this.#model = model;
    this.#closed = stopped;
  }

  /** The intents being accepted now, whose runs may not be in the store yet (the operator's stop cancels them). */
  accepting(): Iterable<{ intent: Intent; accepting: Promise<RunState> }> {
    return this.#submitting.values();
  }

  async submit(raw: unknown, source: IntentSource): Promise<SubmittedIntent> {
    const parsed = parseIntent(raw, source, this.#skills, this.#names);
    // Every intake comes through here: one check of whom it is for.
    const misdirected = misdirection(parsed.intent.targets, this.#robotId());
    if (misdirected) throw new AgentError('wrong_target', misdirected);
    const id = parsed.intent.intent_id;
    // Intents arrive at least once (MQTT redelivers): the same intent id is the same run, also when the
    // second copy comes while the first is still being made durable. A different intent under a used id is
    // refused: answering with the old run would let the sender believe its new params were taken.
    const existing = this.#store.byIntent(id);
    if (existing) return { run: sameIntent(existing.intent, parsed.intent, existing.run), replayed: true };
    const submitting = this.#submitting.get(id);
    if (submitting) {
      const run = await submitting.accepting;
      return { run: sameIntent(submitting.intent, parsed.intent, run), replayed: true };
    }
    // Registered before the first await, so no second caller can slip between the check and the create.
    const accepting = this.#accept(parsed);
    this.#submitting.set(id, { intent: parsed.intent, accepting });
    // Inline arrows: tsx names a closure held in a variable with a defineProperty call, per intent.
    accepting.then(
      () => this.#submitting.delete(id),
      () => this.#submitting.delete(id),
    );
    return { run: await accepting, replayed: false };
  }

  async #accept(parsed: ParsedIntent): Promise<RunState> {
    const { intent } = parsed;
    const stops = this.#haltAuthority.mark;
    const record = await this.#store.create(
      intent,
      intent.type === 'natural_language' ? this.#llmRunner : `skill:${intent.type}`,
    );
    // A stop may have cancelled it already, in the tick its record showed in the store.
    const live = this.#runs.get(record.run.run_id) ?? this.#runs.track(record);
    const halted = this.#haltedWhileAccepting(live, intent, stops);
    if (halted) return halted;
    const chain = runPolicyChain<Intent>(this.#intentHooks(), intent, (hook, value) => hook.onIntent!(value));
    const verdict = chain instanceof Promise ? await chain : chain;
    for (const fired of verdict.fired) await live.event('policy.decision', { ...fired, stage: 'intent' });
    if (!verdict.allowed) return live.finish('failed', `refused by policy: ${verdict.reason}`);
    if (intent.type === 'natural_language') {
      const model = this.#model();
      const available = model?.available() ?? { ok: false as const, reason: 'the llm component is not running' };
      if (!model || !available.ok)
        return live.finish(
          'failed',
          `System 2 unavailable: ${available.ok ? 'no model' : available.reason}; skill intents still run`,
        );
    }
    // The intent hooks may have waited: a stop that came meanwhile ends the run before it acts.
    const haltedMeanwhile = this.#haltedWhileAccepting(live, intent, stops);
    if (haltedMeanwhile) return haltedMeanwhile;
    this.#runs.run(live, parsed);
    return live.run;
  }

  /**
   * A run whose intent was being accepted when the operator stopped the robot (`stops`: the stop count then)
   * or the agent stopped must not start: it is cancelled, or interrupted, here. Resolves with its state
   * once that is journaled; undefined when it may start.
   */
  #haltedWhileAccepting(live: LiveRun, intent: Intent, stops: number): Promise<RunState> | undefined {
    const stopped = this.#closed();
    if (stopped !== undefined) {
      const ended = live.finish(
        'interrupted',
        `${stopped} while the run was pending; submit the intent again to retry`,
      );
      return ended.finally(() => this.#runs.dropIdle(live));
    }
    const order = this.#haltAuthority.since(stops);
    if (order) return this.#haltAuthority.cancelAccepted(intent, live.run.run_id, order);
    // Ended by something else meanwhile (a cancel): the run as its end left it.
    if (live.closed) return live.endError().then(() => live.run);
    return undefined;
  }
}

/** The run of an intent sent again, or a conflict when the second one asks for something else. */
function sameIntent(first: Intent, again: Intent, run: RunState): RunState {
  const differ = intentDifferences(first, again);
  if (differ.length > 0) {
    throw new AgentError(
      'conflict',
      `intent_id ${again.intent_id} already used with different ${differ.join('/')} (run ${run.run_id}): send a new intent_id, or the same intent to get that run`,
    );
  }
  return run;
}
