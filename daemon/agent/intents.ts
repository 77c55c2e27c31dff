import { isDeepStrictEqual } from 'node:util';
import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { jsonHazard } from '../util/index.ts';
import { Intent } from '../contract/index.ts';
import { nowNs } from '../util/index.ts';
import { issuesIn, ValidationError, Validator } from '../util/index.ts';
import { DEFAULT_SCOPE, resolveNames, type NameScope } from '../names/index.ts';
import type { SkillDefinition } from './skills/index.ts';
import { ValidatorList, type ValidatorSpec } from './validators.ts';

export type IntentSource = Intent['policy_ctx']['source'];

/** A natural-language intent's params: what to achieve, and how to check it was achieved. */
export const NaturalLanguageParams = Type.Object(
  { text: Type.String({ minLength: 1, maxLength: 8000 }), validators: Type.Optional(ValidatorList) },
  { additionalProperties: false },
);

const intentValidator = new Validator(Intent);
const nlValidator = new Validator(NaturalLanguageParams);
const validatorsValidator = new Validator(ValidatorList);
const argValidators = new WeakMap<TSchema, Validator<TSchema>>();

/** Whether some property that may be left out has a default: then even a valid value can gain fields. */
export function hasOptionalDefaults(schema: unknown): boolean {
  if (schema === null || typeof schema !== 'object') return false;
  const node = schema as { properties?: Record<string, unknown>; required?: string[] };
  if (node.properties) {
    const required = new Set(node.required ?? []);
    for (const [key, property] of Object.entries(node.properties)) {
      if (!required.has(key) && typeof property === 'object' && property !== null && 'default' in property) return true;
    }
  }
  return Object.values(schema).some(hasOptionalDefaults);
}

/**
 * Value.Default, skipped when the value already matches and the schema has no optional defaults (then
 * every default is on a required field, all present). Value.Default walks the whole schema, trying each
 * branch of a union, and costs more than everything else in accepting an intent.
 */
function fillDefaults<T extends TSchema>(
  validator: Validator<T>,
  skip: boolean,
  value: unknown,
): { value: unknown; valid: boolean } {
  if (skip && validator.check(value)) return { value, valid: true };
  // Value.Default fills in place: a copy, so the value it came from (the intent's own params) stays as sent.
  return { value: Value.Default(validator.schema, structuredClone(value)), valid: false };
}
const intentSkip = !hasOptionalDefaults(Intent);
const nlSkip = !hasOptionalDefaults(NaturalLanguageParams);

/** An accepted intent: the contract's Intent, plus what the run needs split out of its params. */
export interface ParsedIntent {
  intent: Intent;
  /** The skill's arguments (a skill intent) or the text (natural language). */
  args: Record<string, unknown>;
  text: string | undefined;
  validators: ValidatorSpec[];
}

/**
 * Validates an intent at the boundary it came through. The source is the one it really came through,
 * whatever the sender claimed. A skill intent's params are the skill's arguments (plus `validators`);
 * a `natural_language` intent's are NaturalLanguageParams. Throws ValidationError naming the path. The topics
 * and actions its arguments and validators name come out fully qualified, resolved against `names`.
 */
export function parseIntent(
  raw: unknown,
  source: IntentSource,
  skills: ReadonlyMap<string, SkillDefinition>,
  names: NameScope = DEFAULT_SCOPE,
): ParsedIntent {
  // Before anything recurses into it: copying or validating thousands of levels overflows the stack.
  const hazard = jsonHazard(raw);
  if (hazard) throw new ValidationError('intent', [hazard]);
  // A copy: the caller's object is never changed, nor can it change the run later.
  const copy: unknown = raw !== null && typeof raw === 'object' ? structuredClone(raw) : raw;
  if (copy !== null && typeof copy === 'object' && typeof (copy as { policy_ctx?: unknown }).policy_ctx === 'object') {
    (copy as { policy_ctx: Record<string, unknown> }).policy_ctx.source = source;
  }
  const filled =
    copy !== null && typeof copy === 'object'
      ? fillDefaults(intentValidator, intentSkip, copy)
      : { value: copy, valid: false };
  // A value fillDefaults found valid is not checked twice.
  const intent = filled.valid ? (filled.value as Intent) : intentValidator.parse(filled.value, 'intent');
  intent.created_at ??= nowNs().toString();
  if (intent.type === 'natural_language') {
    const nl = fillDefaults(nlValidator, nlSkip, intent.params);
    const params: Static<typeof NaturalLanguageParams> = nl.valid
      ? (nl.value as Static<typeof NaturalLanguageParams>)
      : parsePart(nlValidator, nl.value, 'params', 'intent');
    return {
      intent,
      args: {},
      text: params.text,
      validators: named(ValidatorList, params.validators ?? [], 'params.validators', 'intent', names),
    };
  }
  const skill = skills.get(intent.type);
  if (!skill) {
    throw new ValidationError('intent', [
      {
        path: 'type',
        message: `unknown intent type ${JSON.stringify(intent.type)}: expected natural_language or a skill (${[...skills.keys()].join(', ')})`,
      },
    ]);
  }
  const { validators: rawValidators, ...args } = intent.params;
  const validators =
    rawValidators === undefined
      ? []
      : parsePart(
          validatorsValidator,
          Value.Default(ValidatorList, structuredClone(rawValidators)),
          'params.validators',
          'intent',
        );
  let validator = argValidators.get(skill.parameters);
  if (!validator) argValidators.set(skill.parameters, (validator = new Validator(skill.parameters)));
  const what = `intent (arguments of ${skill.name})`;
  parsePart(validator, args, 'params', what);
  return {
    intent,
    args: named(skill.parameters, args, 'params', what, names),
    text: undefined,
    validators: named(ValidatorList, validators, 'params.validators', 'intent', names),
  };
}

/** `value` (valid for `schema`) with the names it holds fully qualified; one a ROS 2 rule refuses throws. */
function named<T>(schema: TSchema, value: T, path: string, what: string, names: NameScope): T {
  const resolved = resolveNames(schema, value, names);
  if (resolved.issues.length > 0) throw new ValidationError(what, issuesIn(path, resolved.issues));
  return resolved.value;
}

/** Parses a part of an intent. Its issues' paths start at the intent (`params.x`), as the sender wrote them. */
function parsePart<T extends TSchema>(validator: Validator<T>, value: unknown, path: string, what: string): Static<T> {
  if (validator.check(value)) return value;
  throw new ValidationError(what, issuesIn(path, validator.issues(value)));
}

/**
 * What the sender chose differently in a second intent with the same id: its type, params, targets or
 * policy context. The source (the transport it came through) and created_at (filled in when absent) do not count.
 */
export function intentDifferences(first: Intent, again: Intent): string[] {
  const { source: _firstSource, ...firstPolicy } = first.policy_ctx;
  const { source: _againSource, ...againPolicy } = again.policy_ctx;
  const differ: string[] = [];
  if (first.type !== again.type) differ.push('type');
  if (!isDeepStrictEqual(first.params, again.params)) differ.push('params');
  if (!isDeepStrictEqual(first.targets, again.targets)) differ.push('targets');
  if (!isDeepStrictEqual(firstPolicy, againPolicy)) differ.push('policy_ctx');
  return differ;
}
