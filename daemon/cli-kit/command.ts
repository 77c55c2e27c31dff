/**
 * A CLI subcommand. Each lives in its own file under daemon/cli/commands/ and exports `command`; the CLI
 * discovers them, so adding a subcommand is adding one file.
 */
export interface Command {
  /** The word after `auraison-edge` (`run`, `sim`, `bag`, ...). */
  readonly name: string;
  /** One line for the top-level help. */
  readonly summary: string;
  /** The full `--help` text: usage line, arguments, options, examples. */
  readonly help: string;
  /** Runs the command; returns the process exit code. Throw `UsageError` for bad usage (exit 2). */
  run(argv: string[], io: CommandIO): Promise<number>;
}

export interface CommandIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * How a user runs this CLI again, as a shell command (`auraison-edge`, or `node bin/auraison-edge.js` in a checkout):
   * the commands it prints to try next start with it. `auraison-edge` where not given.
   */
  self?: string;
  /**
   * True where the command is the process's own (the CLI's entry), so it may change what is process-wide, such as
   * every thread's scheduling; not where a caller runs it inside a process of its own (a test, a tool).
   */
  ownsProcess?: boolean;
}

/** Bad usage: the CLI prints the message and the command's usage line, and exits 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
