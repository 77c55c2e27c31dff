import type { CommandIO } from '../cli-kit/index.ts';
import type { Point2D } from '../navigation/index.ts';

/**
 * `sim --stay` (what `npm start` runs): once the drive has ended, reached or stopped, or when it could not start
 * for a latched stop, the daemon and the sim run on until Ctrl-C. The operator's stop stops the robot, not the
 * process, so the README's tour has a daemon to act on from a second shell: status, the stop and its release, an
 * intent that drives again, a query. A release moves nothing by itself: the next drive is an intent.
 */

/** Where things stand when the drive's part is over, for the lines that say what to try next. */
export interface StayState {
  /** The goal the drive was given. */
  goal: Point2D;
  /** Whether the robot got there. */
  reached: boolean;
  /** The stop is latched (it stopped the drive, or was there before it): a release comes first. */
  latched: boolean;
  /** The status page, when the API runs. */
  page: string | undefined;
}

const xy = (p: Point2D) => `'{"x": ${p.x.toFixed(2)}, "y": ${p.y.toFixed(2)}}'`;

/**
 * The lines printed before staying: that it runs on, and the commands a second shell can try on it, each starting
 * with `self` (CommandIO.self), so that they run as printed.
 */
export function stayLines({ goal, reached, latched, page }: StayState, self: string): string[] {
  const next = reached ? { x: 0.55, y: 0.55 } : goal;
  const where = reached ? 'back to the start' : 'on to the goal';
  return [
    `the daemon and the sim run on until Ctrl-C${page ? ` (status page: ${page}/)` : ''}; from another shell in this directory:`,
    // Not latched: the stop, then its release, so the intent below is not refused by the latch the stop leaves.
    ...(latched
      ? [`  ${self} stop --release     # the stop is latched: release it (nothing moves until an intent asks)`]
      : [
          `  ${self} stop               # stops the robot; the sim runs on, and the stop holds until released`,
          `  ${self} stop --release     # lets it move again (nothing moves until an intent asks)`,
        ]),
    `  ${self} intent navigate_to --params ${xy(next)} --wait   # drive ${where}`,
    `  ${self} status             # components, readiness, topics`,
    '',
  ];
}

/** Ctrl-C and a service manager's stop, for the whole of a sim command (see interruptions). */
export interface Interruptions {
  /** Aborted at the first SIGINT or SIGTERM. */
  signal: AbortSignal;
  /** Takes the handlers out: after the daemon has stopped. */
  dispose(): void;
}

/**
 * The first SIGINT or SIGTERM aborts `signal`. A second is only noted: Ctrl-C under `npm start` comes twice, from the
 * terminal and forwarded by npm, and Node's default for one with no handler left would kill the process in the middle
 * of its stop (npm then exits 130). A third exits at once, unflushed, as `run` does.
 */
export function interruptions(io: Pick<CommandIO, 'stderr'>): Interruptions {
  const abort = new AbortController();
  let count = 0;
  const on = (signal: NodeJS.Signals) => {
    count++;
    if (count === 1) abort.abort();
    else if (count >= 3) {
      io.stderr(`auraison-edge: ${signal} ${count}: exiting now, without flushing\n`);
      process.exit(1);
    }
  };
  process.on('SIGINT', on);
  process.on('SIGTERM', on);
  return {
    signal: abort.signal,
    dispose: () => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
    },
  };
}

/** Prints what to try and waits for Ctrl-C (`interrupted`); the daemon is stopped by the caller after. */
export async function stay(state: StayState, io: CommandIO, json: boolean, interrupted: AbortSignal): Promise<void> {
  if (!json) io.stdout(stayLines(state, io.self ?? 'auraison-edge').join('\n'));
  if (!interrupted.aborted)
    await new Promise((resolve) => interrupted.addEventListener('abort', resolve, { once: true }));
  if (!json) io.stdout('interrupted: stopping the daemon\n');
}
