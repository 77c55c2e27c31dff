import type { LiveRun } from './live-run.ts';
import { runValidators } from './refine.ts';
import type { ToolInvoker } from './tool-invoker.ts';
import type { ValidatorEnv, ValidatorSpec } from './validators.ts';

export interface SkillRunDeps {
  invoker: ToolInvoker;
  maxRefines: number;
  validatorEnv: (live: LiveRun) => ValidatorEnv;
}

/**
 * A deterministic run: the intent names a skill, which runs with no model, through the same frames as a
 * model's tool call. A failed validator runs it again, up to maxRefines times. Call ids are
 * `skill-<attempt>`, so a run resumed after a restart picks up at the attempt it paused in.
 */
export async function runSkill(
  live: LiveRun,
  args: Record<string, unknown>,
  validators: readonly ValidatorSpec[],
  deps: SkillRunDeps,
): Promise<void> {
  const skill = live.intent.type;
  if (live.run.status !== 'running') await live.status('running');
  live.startClock();
  // Resumed with its wall-time quota spent already: it ended there.
  if (live.closed) return;
  const previous = live.record.events.filter((e) => e.kind === 'tool.result').length;
  for (let attempt = previous + 1; ; attempt++) {
    const result = await deps.invoker.invoke(live, skill, args, `skill-${attempt}`);
    if (live.closed) return;
    if (!result.ok) {
      await live.finish('failed', `${skill}: ${result.error}`);
      return;
    }
    const failed = await runValidators(live, validators, attempt, deps.validatorEnv);
    if (live.closed) return;
    if (!failed) {
      await live.finish('succeeded');
      return;
    }
    if (attempt > deps.maxRefines) {
      await live.finish(
        'failed',
        `validator ${failed.validator} still failing after ${attempt} attempts: ${failed.feedback}`,
      );
      return;
    }
    await live.event('refine.attempt', {
      attempt: attempt + 1,
      validator: failed.validator,
      feedback: failed.feedback,
    });
  }
}
