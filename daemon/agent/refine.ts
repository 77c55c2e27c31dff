import type { LiveRun } from './live-run.ts';
import { evaluateValidator, type ValidatorEnv, type ValidatorOutcome, type ValidatorSpec } from './validators.ts';

/** Runs every validator, records each score as a `validator.result` event; returns the first failure. */
export async function runValidators(live: LiveRun, validators: readonly ValidatorSpec[], attempt: number, env: ValidatorEnv): Promise<ValidatorOutcome | undefined> {
  let failed: ValidatorOutcome | undefined;
  for (const spec of validators) {
    const outcome = await evaluateValidator(spec, env);
    await live.event('validator.result', { ...outcome, attempt });
    if (!outcome.passed) failed ??= outcome;
  }
  return failed;
}
