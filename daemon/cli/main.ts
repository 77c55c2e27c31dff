import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { didYouMean, errorText, printable } from '../util/index.ts';
import { UsageError, type Command, type CommandIO } from '../cli-kit/index.ts';
import { printForms, subcommandHelp, usageForms } from './help-text.ts';
import { selfCommand } from './shell-command.ts';
import { PACKAGE_ROOT } from '../util/index.ts';

const COMMANDS_DIR = join(dirname(fileURLToPath(import.meta.url)), 'commands');

/** Exit codes: 0 ok, 1 the job failed, 2 bad usage or bad config (systemd must not restart-loop on it). */
export const EXIT_USAGE = 2;

/** Loads every command under daemon/cli/commands/ (each file exports `command`). */
export async function loadCommands(): Promise<Map<string, Command>> {
  // .ts when run from the sources (tests), .js when compiled into dist/.
  const files = readdirSync(COMMANDS_DIR).filter((f) => /\.[jt]s$/.test(f) && !/\.test\.[jt]s$/.test(f));
  const commands = new Map<string, Command>();
  for (const file of files.sort()) commands.set(...(await importCommand(file)));
  return commands;
}

async function importCommand(file: string): Promise<[string, Command]> {
  const mod = (await import(join(COMMANDS_DIR, file))) as { command?: Command };
  if (!mod.command) throw new Error(`daemon/cli/commands/${file} does not export \`command\``);
  return [mod.command.name, mod.command];
}

/** What the top-level help and a typo's suggestion need of a command. */
export type CommandSummary = Pick<Command, 'name' | 'summary'>;

/**
 * Where `npm run build` writes every command's name and summary, beside the compiled CLI (bin/build.js): the
 * top-level help reads them there instead of loading every command, whose modules (the config's schemas, yaml)
 * were most of its start. Absent when run from the sources (the tests): every command is loaded then.
 */
const COMMAND_INDEX = join(COMMANDS_DIR, '..', 'commands.json');

/** Every command's name and summary, in the order of their files: from the index, else from every command loaded. */
async function summaries(): Promise<CommandSummary[]> {
  try {
    return JSON.parse(readFileSync(COMMAND_INDEX, 'utf8')) as CommandSummary[];
  } catch {
    return [...(await loadCommands()).values()];
  }
}

/**
 * The command named: only its file is loaded when it is there (commands/<name>.js, as each command's file is named),
 * since every command loaded costs its modules' load at each start (`status` took 4x `node -e 0` when all were);
 * every one for a name no file has.
 */
async function commandNamed(name: string): Promise<Command | undefined> {
  if (!/^[a-z][a-z-]*$/.test(name)) return undefined;
  const file = ['js', 'ts'].map((ext) => `${name}.${ext}`).find((f) => existsSync(join(COMMANDS_DIR, f)));
  const [found, command] = file ? await importCommand(file) : [undefined, undefined];
  return found === name ? command : (await loadCommands()).get(name);
}

function version(): string {
  const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };
  return pkg.version;
}

function topHelp(commands: CommandSummary[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    'Usage: auraison-edge <command> [options]',
    '',
    'The Auraison Edge daemon and its tools.',
    '',
    'Commands:',
    ...lines,
    '',
    "Run `auraison-edge <command> --help` for a command's options.",
    'Exit codes: 0 success, 1 the job failed, 2 bad usage or invalid config; `bag import` also exits 3 when',
    'it committed the import but kept some messages as raw bytes, and `status` when the daemon runs but is',
    'NOT READY.',
    '',
  ].join('\n');
}

export async function main(argv: string[], io: CommandIO = defaultIO()): Promise<number> {
  return run(argv, terminalSafe(io));
}

/**
 * Everything the CLI prints, through one escaping function: the commands print what peers sent (a stop's
 * `by` and `reason`, run texts, topic names, model metadata), and an ESC or OSC sequence in it must reach
 * the terminal as text, not act on it. The CLI writes no control characters of its own but newlines.
 */
function terminalSafe(io: CommandIO): CommandIO {
  return {
    ...io,
    stdout: (text) => io.stdout(printable(text, { keepLines: true })),
    stderr: (text) => io.stderr(printable(text, { keepLines: true })),
  };
}

async function run(argv: string[], io: CommandIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    io.stderr(topHelp(await summaries()));
    return EXIT_USAGE;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    const target = rest[0] !== undefined ? await commandNamed(rest[0]) : undefined;
    io.stdout(target ? target.help : topHelp(await summaries()));
    return 0;
  }
  if (name === '--version' || name === '-V') {
    io.stdout(`${version()}\n`);
    return 0;
  }
  const command = await commandNamed(name);
  if (!command) {
    const names = (await summaries()).map((c) => c.name);
    const guess = didYouMean(name, names);
    io.stderr(
      `auraison-edge: unknown command "${name}"${guess ? ` (did you mean "${guess}"?)` : ''}\nRun \`auraison-edge --help\` for the list of commands.\n`,
    );
    return EXIT_USAGE;
  }
  // --help anywhere before a `--` wins, so `auraison-edge sim turtlebot-maze --help` works too.
  const beforeDashes = rest.indexOf('--') === -1 ? rest : rest.slice(0, rest.indexOf('--'));
  if (beforeDashes.includes('--help') || beforeDashes.includes('-h')) {
    // `bag info --help`: the subcommand's own help, not every subcommand's.
    const sub = rest[0] !== undefined ? subcommandHelp(command.help, name, rest[0]) : undefined;
    io.stdout(sub ?? command.help);
    return 0;
  }
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) {
      const usage = usageLine(command.help, name, rest[0]);
      io.stderr(
        `auraison-edge ${name}: ${error.message}\n${usage}\nRun \`auraison-edge ${name} --help\` for details.\n`,
      );
      return EXIT_USAGE;
    }
    // loaded here, on the way out: the config's schemas are most of a client command's start otherwise
    const [{ ConfigError }, { DataDirError }] = await Promise.all([
      import('../config/index.ts'),
      import('../lifecycle/index.ts'),
    ]);
    if (error instanceof ConfigError) {
      io.stderr(`auraison-edge ${name}: invalid config\n${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof DataDirError) {
      io.stderr(`auraison-edge ${name}: ${error.message}\n`);
      return EXIT_USAGE;
    }
    io.stderr(`auraison-edge ${name}: error: ${errorText(error)}\n`);
    return 1;
  }
}

/**
 * The usage of the subcommand used (`auraison-edge lerobot export ...`), else every form the help gives
 * (`config` alone: both `config check` and `config show`). A form that wraps onto further lines keeps
 * them, so `sim`'s usage still shows --speed and --duration.
 */
function usageLine(help: string, name: string, sub: string | undefined): string {
  const forms = usageForms(help);
  if (forms.length === 0) return '';
  const chosen =
    sub === undefined
      ? undefined
      : forms.find(([f]) => f!.startsWith(`auraison-edge ${name} ${sub} `) || f === `auraison-edge ${name} ${sub}`);
  return printForms(chosen ? [chosen] : forms);
}

function defaultIO(): CommandIO {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    cwd: process.cwd(),
    self: selfCommand(process.argv[1], process.cwd(), process.env),
    ownsProcess: true,
  };
}
