import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './command.ts';
import { errorText } from '../util/index.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses a subcommand's argv with node's parseArgs in strict mode. Unknown options, missing values and
 * wrong positional counts become UsageErrors (exit 2).
 */
export function parseCommandArgs<O extends Options>(
  argv: string[],
  options: O,
  positionals: { min?: number; max?: number; names?: string } = {},
) {
  const { min = 0, max = 0, names = '' } = positionals;
  let parsed;
  try {
    parsed = parseArgs({ args: negativeValuesJoined(argv, options), options, allowPositionals: max > 0, strict: true });
  } catch (error) {
    throw new UsageError(errorText(error).replace(/^TypeError \[[A-Z_]+\]: /, ''));
  }
  if (parsed.positionals.length < min) throw new UsageError(`missing argument${names ? `: ${names}` : ''}`);
  if (parsed.positionals.length > max) throw new UsageError(`unexpected argument: ${parsed.positionals[max]}`);
  return parsed;
}

/** A value that reads as a negative number: `-1`, `-0.5`, `-.5`, `-1e3`. */
const NEGATIVE_NUMBER = /^-(\d|\.\d)/;

/**
 * `--seed -1` written as `--seed=-1`. parseArgs refuses a value starting with a dash as "ambiguous" (it
 * could be an option), which sends the user after the wrong problem: joined, the value reaches the
 * option's own check, which says what range it takes. Only a number is joined; `--goal -x` stays an error.
 */
function negativeValuesJoined(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const long = arg.startsWith('--')
      ? arg.slice(2)
      : arg.length === 2 && arg[0] === '-'
        ? Object.keys(options).find((k) => options[k]!.short === arg[1])
        : undefined;
    if (long !== undefined && options[long]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      out.push(`--${long}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** A number option: `--speed 5`. Throws a UsageError naming the option. */
/** The longest timeout option, ms: a Node timer fires after 1 ms for a longer delay. */
export const MAX_TIMEOUT_OPTION_MS = 2 ** 31 - 1;
/** The same in seconds, for options given in seconds. */
export const MAX_TIMEOUT_OPTION_S = MAX_TIMEOUT_OPTION_MS / 1000;

export function numberOption(
  name: string,
  text: string | undefined,
  check: { min?: number; max?: number; integer?: boolean; exclusiveMin?: boolean } = {},
): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  const { min, max, integer = false, exclusiveMin = false } = check;
  const bad =
    text.trim() === '' ||
    !Number.isFinite(value) ||
    (integer && !Number.isInteger(value)) ||
    (min !== undefined && (exclusiveMin ? value <= min : value < min)) ||
    (max !== undefined && value > max);
  if (bad) {
    const want = `${integer ? 'an integer' : 'a number'}${min !== undefined ? ` ${exclusiveMin ? '>' : '>='} ${min}` : ''}${max !== undefined ? `${min !== undefined ? ' and' : ''} <= ${max}` : ''}`;
    throw new UsageError(`--${name}: expected ${want}, got ${JSON.stringify(text)}`);
  }
  return value;
}
