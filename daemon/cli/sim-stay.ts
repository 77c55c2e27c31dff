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

/** The lines printed before staying: that it runs on, and the commands a second shell can try on it. */
export function stayLines({ goal, reached, latched, page }: StayState): string[] {
  const next = reached ? { x: 0.55, y: 0.55 } : goal;
  const where = reached ? 'back to the start' : 'on to the goal';
  return [
    `the daemon and the sim run on until Ctrl-C${page ? ` (status page: ${page}/)` : ''}; from another shell in this directory:`,
    ...(latched
      ? ['  auraison-edge stop --release     # the stop is latched: release it (nothing moves until an intent asks)']
      : ['  auraison-edge stop               # stops the robot; the sim runs on, and the stop holds until released']),
    `  auraison-edge intent navigate_to --params ${xy(next)} --wait   # drive ${where}`,
    '  auraison-edge status             # components, readiness, topics',
    '',
  ];
}

/** Resolves at SIGINT or SIGTERM (Ctrl-C, or a service manager's stop), with the signal. */
export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals) => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.once('SIGINT', on);
    process.once('SIGTERM', on);
  });
}

/** Prints what to try and waits for Ctrl-C; the daemon is stopped by the caller after. */
export async function stay(state: StayState, io: CommandIO, json: boolean): Promise<void> {
  if (!json) io.stdout(stayLines(state).join('\n'));
  await untilInterrupted();
  if (!json) io.stdout('interrupted: stopping the daemon\n');
}
