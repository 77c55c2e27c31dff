import type { LiveRun } from './live-run.ts';
import { evaluateValidator, type ValidatorEnv, type ValidatorOutcome, type ValidatorSpec } from './validators.ts';

/**
 * Runs every validator, records each score as a `validator.result` event; returns the first failure. The
 * environment is made only when there is a validator to run (it holds the run's signal).
 */
export async function runValidators(
  live: LiveRun,
  validators: readonly ValidatorSpec[],
  attempt: number,
  envOf: (live: LiveRun) => ValidatorEnv,
): Promise<ValidatorOutcome | undefined> {
  if (validators.length === 0) return undefined;
  const env = envOf(live);
  let failed: ValidatorOutcome | undefined;
  for (const spec of validators) {
    const outcome = await evaluateValidator(spec, env);
    await live.event('validator.result', { ...outcome, attempt });
    if (!outcome.passed) failed ??= outcome;
  }
  return failed;
}
