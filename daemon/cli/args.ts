import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a subcommand's argv with node's parseArgs in strict mode. Unknown options, missing values and
 * wrong positional counts become UsageErrors (exit 2).
 */
export function parseCommandArgs<O extends Options>(argv: string[], options: O, positionals: { min?: number; max?: number; names?: string } = {}) {
  const { min = 0, max = 0, names = '' } = positionals;
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: max > 0, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  if (parsed.positionals.length < min) throw new UsageError(`missing argument${names ? `: ${names}` : ''}`);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument: ${parsed.positionals[max]}`);
  return parsed;
}

/** A number option: `--speed 5`. Throws a UsageError naming the option. */
export function numberOption(name: string, text: string | undefined, check: { min?: number; integer?: boolean; exclusiveMin?: boolean } = {}): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const { min, integer = false, exclusiveMin = false } = check;
  const bad =
    text.trim() === '' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    (min !== undefined && (exclusiveMin ? value <= min : value < min));
  if (bad) {
    const want = `${integer ? 'an integer' : 'a number'}${min !== undefined ? ` ${exclusiveMin ? '>' : '>='} ${min}` : ''}`;
    throw new UsageError(`--${name}: expected ${want}, got ${JSON.stringify(text)}`);
  }
  return value;
}
