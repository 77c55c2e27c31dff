import type { EdgeConfig } from '../config/index.ts';
import type { ComponentSpec } from './component.ts';

/** The JSON of `spec`'s liveSettings slice of `config`, '' for a spec without one. */
export function liveSlice(spec: ComponentSpec, config: EdgeConfig): string {
  return spec.liveSettings ? JSON.stringify(spec.liveSettings(config)) : '';
}

/** The dotted keys under which two settings slices differ (`velocity.max_linear_x`), for logs and reasons. */
export function changedKeys(before: unknown, after: unknown, prefix = ''): string[] {
  const isObject = (v: unknown): v is Record<string, unknown> =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(before) || !isObject(after))
    return JSON.stringify(before) === JSON.stringify(after) ? [] : [prefix || '(all)'];
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].flatMap((key) => changedKeys(before[key], after[key], prefix ? `${prefix}.${key}` : key));
}
