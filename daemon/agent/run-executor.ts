import type { Bus, MessageCodec } from '../bus/index.ts';
import type { AgentSettings } from '../config/index.ts';
import type { ParsedIntent } from './intents.ts';
import type { LiveRun } from './live-run.ts';
import { runNaturalLanguage } from './llm-run.ts';
import type { ModelService } from './model-service.ts';
import { runSkill } from './skill-run.ts';
import type { SkillDefinition } from './skills/index.ts';
import { systemPrompt } from './system-prompt.ts';
import type { ToolInvoker } from './tool-invoker.ts';
import type { ValidatorEnv } from './validators.ts';

export interface RunExecutorOptions {
  bus: Bus;
  codec: MessageCodec;
  settings: AgentSettings;
  invoker: ToolInvoker;
  skills: ReadonlyMap<string, SkillDefinition>;
  /** System 2, when it runs. */
  model: () => ModelService | undefined;
  /** The sim's named poses, when a sim runs; agent.named_poses are added over them. */
  namedPoses: () => Record<string, { x: number; y: number }> | undefined;
}

/** Runs a run's skill, or its model on System 2 (LiveRuns calls it, and ends the run if this does not). */
export class RunExecutor {
  readonly #settings: AgentSettings;
  readonly #invoker: ToolInvoker;
  readonly #skills: ReadonlyMap<string, SkillDefinition>;
  readonly #model: () => ModelService | undefined;
  readonly #namedPoses: () => Record<string, { x: number; y: number }> | undefined;
  readonly #validatorEnv: (live: LiveRun) => ValidatorEnv;

  constructor(options: RunExecutorOptions) {
    const { bus, codec, settings, invoker, skills, model, namedPoses } = options;
    this.#settings = settings;
    this.#invoker = invoker;
    this.#skills = skills;
    this.#model = model;
    this.#namedPoses = namedPoses;
    this.#validatorEnv = (l) => ({
      bus,
      codec,
      lastGoal: l.lastGoal,
      signal: l.signal,
      odomTopic: settings.navigation.odom_topic,
      toleranceM: settings.navigation.tolerance_m,
    });
  }

  execute(live: LiveRun, parsed: ParsedIntent): Promise<unknown> {
    if (parsed.text === undefined) {
      return runSkill(live, parsed.args, parsed.validators, {
        invoker: this.#invoker,
        maxRefines: this.#settings.max_refines,
        validatorEnv: this.#validatorEnv,
      });
    }
    const model = this.#model();
    if (!model) return live.finish('failed', 'System 2 unavailable: the llm component is not running');
    const poses = { ...this.#namedPoses(), ...this.#settings.named_poses };
    return runNaturalLanguage(live, parsed.text, parsed.validators, {
      model,
      invoker: this.#invoker,
      skills: [...this.#skills.values()],
      systemPrompt: systemPrompt(this.#settings.system_prompt, poses),
      maxRefines: this.#settings.max_refines,
      validatorEnv: this.#validatorEnv,
    });
  }
}
