import { readFileSync, rmSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { latchText, type HaltLatchState } from '../contract/index.ts';
import { within, writeDurably, errorText } from '../util/index.ts';
import type { HaltOrder } from './halt-order.ts';
import { HaltLine } from './halt-line.ts';

/**
 * The operator's stop latches (motion.stop.latch, on by default): once the robot is stopped by POST /stop,
 * `auraison-edge stop`, the status page's button or the bus query agent/stop, nothing the daemon governs
 * moves it again until a person releases the latch (`auraison-edge stop --release`, POST /stop/release, the
 * page's Release button). Held here and in `<data_dir>/state/stop-latch.json`, so a restart, a reload or a
 * crash does not release it. A latch file that cannot be read latches too: it errs on the side of the stop.
 */

export function haltLatchPath(dataDir: string): string {
  return join(dataDir, 'state', 'stop-latch.json');
}

/** The latch file's content: what a restart reads back. */
interface LatchFile {
  by: string;
  reason: string | null;
  since: string;
}

/**
 * The daemon's one latch (held by its HaltAuthority, which every surface that stops or moves the robot is
 * handed): what it holds in memory is what is obeyed at once; the file is what a restart finds.
 */
export class HaltLatch {
  readonly path: string;
  /** What other threads see of this latch (and of stops the stop listener took that it has not yet). */
  readonly line: HaltLine;
  #enabled: boolean;
  #held: HaltLatchState | undefined;
  /** The held latch's file write, while it is the one last asked for. */
  #written: Promise<HaltLatchState> | undefined;
  /** The latch a release is removing the file of: a stop meanwhile latches anew rather than repeat it. */
  #releasing: HaltLatchState | undefined;
  /** The engage or release being written: each writes in turn, so the file ends as the last one left it. */
  #writes: Promise<unknown> = Promise.resolve();

  readonly #writeDurably: (path: string, text: string) => Promise<void>;

  /**
   * `writeDurably` writes the file: the daemon's passes its sync thread's, so a stop's latch does not wait
   * behind the libuv threads other I/O fills. `line` is the stop line the daemon shares with its threads.
   */
  constructor(options: {
    dataDir: string;
    enabled: boolean;
    writeDurably?: (path: string, text: string) => Promise<void>;
    line?: HaltLine;
  }) {
    const { dataDir, enabled, writeDurably: write = writeDurably, line = new HaltLine() } = options;
    this.path = haltLatchPath(dataDir);
    this.#enabled = enabled;
    this.#writeDurably = write;
    this.line = line;
  }

  /** motion.stop.latch: whether stops latch, and whether a latch is obeyed. */
  get enabled(): boolean {
    return this.#enabled;
  }

  /**
   * A reload's motion.stop.latch. Turned on, a file from before that was not obeyed while it was off holds
   * from now on (read by the next load()).
   */
  setEnabled(enabled: boolean): void {
    this.#enabled = enabled;
    this.#hold(this.#held);
  }

  /** The latch, or undefined when the robot may move. */
  get state(): HaltLatchState | undefined {
    return this.#enabled ? this.#held : undefined;
  }

  /**
   * Reads the latch file (at start), unless this latch holds one already (a reload that turned it on). A file
   * that is there but unreadable (cut short by a full disk, edited by hand) latches all the same, saying so.
   * With the latch off (motion.stop.latch: false) a file left from before is reported, not obeyed.
   */
  load(): { latched: HaltLatchState | undefined; ignored: string | undefined } {
    const state = this.#held ?? readLatchFile(this.path);
    if (!state) return { latched: undefined, ignored: undefined };
    if (!this.#enabled)
      return {
        latched: undefined,
        ignored: `motion.stop.latch is false: the latch in ${this.path} (by ${state.by}) is not obeyed`,
      };
    this.#hold(state);
    return { latched: state, ignored: undefined };
  }

  /**
   * Latches now, in memory at once (the next motion is refused), then writes the file. Resolves when it is
   * written (or could not be: `persisted` false and `error` say why; the latch holds in this process).
   * A stop while latched repeats the latch: the first stop's `by`, `reason` and `since` stay, so a release
   * naming that `since` is not refused as a newer stop's for as long as stops keep coming; the repeats are
   * counted in `again`, with the latest's who and why, so a second operator's reason is shown, not lost. Its
   * file is written again only when it was not written (the repeats are the journal's, not the file's).
   */
  engage(order: HaltOrder): { state: HaltLatchState; written: Promise<HaltLatchState> } {
    const held = this.#held;
    // Not one being released (a stop meanwhile is a new latch), nor one read from an unreadable file (a stop
    // writes a readable one in its place).
    if (held && held !== this.#releasing && !(held.persisted && held.error !== null)) {
      held.again = {
        count: (held.again?.count ?? 0) + 1,
        by: order.by,
        reason: order.reason ?? null,
        at: new Date().toISOString(),
      };
      // Written, or being written: that write answers; one that failed is tried again.
      const written = held.error === null ? (this.#written ?? Promise.resolve(held)) : this.#write(held);
      return { state: held, written };
    }
    const state: HaltLatchState = {
      by: order.by,
      reason: order.reason ?? null,
      since: new Date().toISOString(),
      persisted: false,
      error: null,
    };
    this.#hold(state);
    return { state, written: this.#write(state) };
  }

  /** Writes the latch's file, after any engage or release before it; `state` says whether it was written. */
  #write(state: HaltLatchState): Promise<HaltLatchState> {
    const file: LatchFile = { by: state.by, reason: state.reason, since: state.since };
    const written = this.#serially(async () => {
      try {
        await this.#writeDurably(this.path, `${JSON.stringify(file, null, 2)}\n`);
        state.persisted = true;
        state.error = null;
      } catch (error) {
        state.error = `the latch could not be written to ${this.path} (${errorText(error)}): it holds until the daemon stops, and a restart would not find it`;
      }
      return state;
    });
    this.#written = written;
    return written;
  }

  /**
   * Releases the latch: the robot may move again. Resolves with the latch it released (undefined when none
   * was). Throws when the file cannot be removed: the latch then stays, since a restart would read it. With
   * `expectedSince` (the `since` of the latch the releaser was shown) a newer latch is not released: a
   * HaltLatchConflict says whose it is.
   */
  async release(expectedSince?: string): Promise<HaltLatchState | undefined> {
    // What this process holds, also with the latch off (motion.stop.latch false after a reload): a reload
    // that turns it on again must not bring back a latch a person released, and that no restart would find.
    const seen = this.#held;
    // The person releasing saw another latch (a page shown before a newer stop): they have not seen this one.
    if (expectedSince !== undefined && seen && seen.since !== expectedSince)
      throw new HaltLatchConflict(seen, expectedSince);
    const was = this.state;
    this.#releasing = seen;
    try {
      await this.#serially(async () => {
        try {
          await rm(this.path, { force: true });
        } catch (error) {
          throw new Error(`the stop latch could not be released: ${notRemoved(this.path, error)}`);
        }
      });
    } finally {
      if (this.#releasing === seen) this.#releasing = undefined;
    }
    // Only after the file is gone, and only the latch it saw: a stop that came meanwhile holds.
    if (this.#held === seen) this.#hold(undefined);
    return was;
  }

  /**
   * Why a motion is refused now, or undefined when the robot may move. A stop the stop listener took and the
   * main thread has not yet refuses too, latch or none: its zero commands went out, and nothing may undo them
   * before the stop's hooks have ended what drives the robot.
   */
  refusal(): string | undefined {
    const state = this.state;
    if (state) return latchedMessage(state);
    return this.line.pending > 0
      ? "the robot is stopped: the operator's stop came in on the stop listener and is being taken"
      : undefined;
  }

  /** Holds `state` here and on the line, where the other threads read it. */
  #hold(state: HaltLatchState | undefined): void {
    if (state !== this.#held) this.#written = undefined;
    this.#held = state;
    this.line.setLatched(this.#enabled && state !== undefined);
  }

  /** Each engage and release writes in turn, so the file ends as the last one left it. */
  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#writes.then(work, work);
    this.#writes = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }
}

/**
 * What a stop reports of the latch it engaged: as written within `waitMs`, or, when its disk has not
 * answered by then, as held here with `error` saying a restart finds it only once written.
 */
export async function latchReport(
  engaged: ReturnType<HaltLatch['engage']>,
  path: string,
  waitMs: number,
): Promise<HaltLatchState> {
  await within(engaged.written, waitMs);
  const state = { ...engaged.state };
  if (!state.persisted && state.error === null)
    state.error = `the latch file ${path} is still being written after ${waitMs} ms (its disk is slow or stuck): the latch holds here; a restart finds it only once written`;
  return state;
}

/** A release of a latch the releaser was not shown: a newer stop holds, and stays. */
export class HaltLatchConflict extends Error {
  override name = 'HaltLatchConflict';
  readonly latch: HaltLatchState;
  constructor(latch: HaltLatchState, expectedSince: string) {
    super(
      `not released: the stop now latched is a newer one, by ${latchText(latch)}, not the one of ${expectedSince} you were shown; look at it, then release again`,
    );
    this.latch = latch;
  }
}

/** What a refused motion says: who latched the stop, when, why, and how to release it. */
export function latchedMessage(state: Pick<HaltLatchState, 'by' | 'reason' | 'since' | 'again'>): string {
  return `the robot is stopped: latched by ${latchText(state)}; nothing moves it until a person releases it with \`auraison-edge stop --release\` (or POST /stop/release, or the status page)`;
}

function parseLatchFile(text: string, path: string): HaltLatchState {
  try {
    const value = JSON.parse(text) as Partial<LatchFile>;
    if (
      typeof value.by === 'string' &&
      typeof value.since === 'string' &&
      (value.reason === null || typeof value.reason === 'string')
    ) {
      return { by: value.by, reason: value.reason, since: value.since, persisted: true, error: null };
    }
  } catch {
    // below
  }
  const problem = text.startsWith('\0') ? text.slice(1) : 'not a latch record';
  return {
    by: 'unknown',
    reason: `the latch file ${path} is unreadable (${problem}): latched to be safe`,
    since: new Date().toISOString(),
    persisted: true,
    error: problem,
  };
}

/**
 * Releases a latch with no daemon running (`auraison-edge stop --release` when none answers): removes the
 * file, which is all a latch is while the daemon is down. Returns the latch it removed, or undefined.
 */
export function releaseLatchFile(dataDir: string): HaltLatchState | undefined {
  const path = haltLatchPath(dataDir);
  const state = readLatchFile(path);
  try {
    if (state) rmSync(path, { force: true });
  } catch (error) {
    throw new Error(notRemoved(path, error));
  }
  return state;
}

/** A latch file that could not be removed: the latch holds, and what a person does about it. */
function notRemoved(path: string, error: unknown): string {
  return `${path} could not be removed (${errorText(error)}); the robot stays stopped; remove ${path} by hand (or make its directory writable), then release again`;
}

/** A latch record is a few hundred bytes: anything much larger is not one (and is not read whole). */
const MAX_LATCH_BYTES = 64 * 1024;

/**
 * The latch a file holds, undefined when there is no file. Anything else there latches, as unreadable: a
 * file cut short or edited by hand, a directory, and a FIFO or device (checked before reading, since reading
 * one would block the daemon's start).
 */
function readLatchFile(path: string): HaltLatchState | undefined {
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) text = '\0not a regular file';
    else if (stat.size > MAX_LATCH_BYTES) text = `\0${stat.size} bytes, not a latch record`;
    else text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    text = `\0${errorText(error)}`;
  }
  return parseLatchFile(text, path);
}
