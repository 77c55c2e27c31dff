import type { FastifySchemaCompiler } from 'fastify';
import type { TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { ValidationError, type ValidationIssue, Validator, errorText } from '../util/index.ts';

/**
 * Validates every route's request parts with the contract's TypeBox validator instead of fastify's Ajv, so
 * an HTTP 400 reads like every other validation error in the daemon: `body.targets[0]: expected string...`.
 * Query strings, params and headers arrive as strings: they are converted to the schema's types first.
 * Defaults are filled in before the check, so handlers see complete values. Fastify tags the error with
 * the part (`validationContext`), and the error handler prefixes each issue's path with it.
 */
export const typeboxValidatorCompiler: FastifySchemaCompiler<unknown> = (route) => {
  const schema = route.schema as TSchema;
  const validator = new Validator(schema);
  const part = route.httpPart ?? 'body';
  const convert = part !== 'body';
  // A POST with no body is the natural call for routes whose body is all optional (`approve`).
  const emptyBodyIsObject =
    part === 'body' && (schema as { type?: unknown }).type === 'object' && validator.check(Value.Default(schema, {}));
  // Strings that already fit a schema with nothing to fill (a query string of no keys, the headers of
  // /events) need no copy and no conversion: the common request takes one check, not a structuredClone.
  const fitsAsGiven = convert && !JSON.stringify(schema).includes('"default"');
  return (data: unknown) => {
    if (fitsAsGiven && data !== null && validator.check(data)) return { value: data };
    let value: unknown = data === null && emptyBodyIsObject ? {} : data;
    if (convert) value = Value.Convert(schema, value === null ? {} : structuredClone(value));
    if (value !== null && typeof value === 'object') value = Value.Default(schema, value);
    if (validator.check(value)) return { value };
    return { error: new ValidationError(part, issuesOf(validator, value)) };
  };
};

/**
 * Why the validator refused `value`. Describing it walks the value again: should that throw (a key the
 * description code did not foresee, such as the empty key ""), the request is still refused as a 400, not
 * answered 500 as though the daemon were at fault.
 */
function issuesOf(validator: Validator<TSchema>, value: unknown): ValidationIssue[] {
  try {
    return validator.issues(value);
  } catch (error) {
    return [
      {
        path: '',
        message: `does not match the expected shape (the daemon could not say where: ${errorText(error)})`,
      },
    ];
  }
}
