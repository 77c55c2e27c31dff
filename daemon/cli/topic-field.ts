import { didYouMean } from '../util/index.ts';
import { fieldShape, type MessageLayout, type Shape } from './topic-format.ts';

/** One step of a `--field` path: a field's name, or an index into an array. */
export type FieldStep = string | number;

/**
 * `--field pose.pose.position` as steps; an array is indexed as `ranges[0]` or `ranges.0`
 * (`transforms[0].child_frame_id`). Undefined when the text is not such a path.
 */
export function parseFieldPath(text: string): FieldStep[] | undefined {
  const steps: FieldStep[] = [];
  for (const part of text.split('.')) {
    const m = /^([A-Za-z_]\w*)?((?:\[\d+\])*)$/.exec(part);
    if (/^\d+$/.test(part)) steps.push(Number(part));
    else if (m && (m[1] !== undefined || m[2] !== '')) {
      if (m[1] !== undefined) steps.push(m[1]);
      for (const index of m[2]!.matchAll(/\[(\d+)\]/g)) steps.push(Number(index[1]));
    } else return undefined;
  }
  return steps;
}

export function formatFieldPath(steps: readonly FieldStep[]): string {
  return steps.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/**
 * The shape of the field the path names in messages of `layout`, or why there is none: a field the type
 * does not have (with a did-you-mean and the fields it has), an index into what is not an array.
 */
export function checkFieldPath(
  steps: readonly FieldStep[],
  layout: MessageLayout,
): { shape: Shape } | { error: string } {
  let shape = layout.root;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const at =
      i === 0 ? layout.root.type : `${formatFieldPath(steps.slice(0, i))} (${shape.type}${shape.isArray ? '[]' : ''})`;
    if (typeof step === 'number') {
      if (!shape.isArray) return { error: `${at} is not an array: it has no [${step}]` };
      shape = { type: shape.type, isComplex: shape.isComplex, isArray: false };
      continue;
    }
    if (shape.isArray)
      return {
        error: `${at} is an array: index it first (${formatFieldPath([...steps.slice(0, i), 0, ...steps.slice(i)])})`,
      };
    const fields = layout.fields(shape);
    if (!fields) return { error: `${at} has no fields: it is a ${shape.type}` };
    const field = fields.find((f) => f.name === step);
    if (!field) {
      const names = fields.map((f) => f.name);
      const guess = didYouMean(step, names);
      return {
        error: `${at} has no field "${step}"${guess ? ` (did you mean "${guess}"?)` : ''}; its fields: ${names.join(', ')}`,
      };
    }
    shape = fieldShape(field);
  }
  return { shape };
}

/**
 * The value at the path in a decoded message; `found: false` names the step that is not there (an index past the end).
 */
export function pickField(
  value: unknown,
  steps: readonly FieldStep[],
): { found: true; value: unknown } | { found: false; why: string } {
  let current = value;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    if (typeof step === 'number') {
      const items = current as ArrayLike<unknown> | undefined;
      if (items === undefined || items === null || typeof items.length !== 'number' || step >= items.length) {
        return {
          found: false,
          why: `${formatFieldPath(steps.slice(0, i))} has ${items?.length ?? 0} items, no [${step}]`,
        };
      }
      current = items[step];
    } else {
      if (current === null || typeof current !== 'object' || !(step in current))
        return { found: false, why: `${formatFieldPath(steps.slice(0, i + 1))} is not in the message` };
      current = (current as Record<string, unknown>)[step];
    }
  }
  return { found: true, value: current };
}
