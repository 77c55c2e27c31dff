import Type, { type Static, type TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { Intent } from '../contract/schemas.ts';
import { nowNs } from '../contract/time.ts';
import { ValidationError, Validator } from '../contract/validate.ts';
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
 * a `natural_language` intent's are NaturalLanguageParams. Throws ValidationError naming the path.
 */
export function parseIntent(raw: unknown, source: IntentSource, skills: ReadonlyMap<string, SkillDefinition>): ParsedIntent {
  const filled = raw !== null && typeof raw === 'object' ? Value.Default(Intent, structuredClone(raw)) : raw;
  if (filled !== null && typeof filled === 'object' && typeof (filled as { policy_ctx?: unknown }).policy_ctx === 'object') {
    (filled as { policy_ctx: Record<string, unknown> }).policy_ctx.source = source;
  }
  const intent = intentValidator.parse(filled, 'intent');
  intent.created_at ??= nowNs().toString();
  if (intent.type === 'natural_language') {
    const params: Static<typeof NaturalLanguageParams> = nlValidator.parse(Value.Default(NaturalLanguageParams, structuredClone(intent.params)), 'intent.params');
    return { intent, args: {}, text: params.text, validators: params.validators ?? [] };
  }
  const skill = skills.get(intent.type);
  if (!skill) {
    throw new ValidationError('intent', [{ path: 'type', message: `unknown intent type ${JSON.stringify(intent.type)}: expected natural_language or a skill (${[...skills.keys()].join(', ')})` }]);
  }
  const { validators: rawValidators, ...args } = intent.params;
  const validators = rawValidators === undefined ? [] : validatorsValidator.parse(Value.Default(ValidatorList, structuredClone(rawValidators)), 'intent.params.validators');
  let validator = argValidators.get(skill.parameters);
  if (!validator) argValidators.set(skill.parameters, (validator = new Validator(skill.parameters)));
  validator.parse(args, `intent.params (arguments of ${skill.name})`);
  return { intent, args, text: undefined, validators };
}
