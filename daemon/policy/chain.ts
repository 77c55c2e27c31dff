import type { PolicyHook } from '../contract/index.ts';

/** The hooks that take part in one stage, so a stage does not visit hooks that have nothing to say. */
export function hooksWith(
  hooks: readonly PolicyHook[],
  stage: 'onIntent' | 'beforeToolCall' | 'afterToolCall',
): PolicyHook[] {
  return hooks.filter((hook) => typeof hook[stage] === 'function');
}
