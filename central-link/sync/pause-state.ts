import { readFileSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';
import Type, { type Static } from 'typebox';
import type { PausedBy } from '../../daemon/contract/index.ts';
import { errorText, Validator } from '../../daemon/util/index.ts';
import { writeDurably } from '../../daemon/util/index.ts';

/** Where bulk sync keeps its pause: `<data_dir>/state/sync-pause.json`, beside the outbox cursor. */
export function syncPausePath(dataDir: string): string {
  return join(dataDir, 'state', 'sync-pause.json');
}

export type { PausedBy };

const Pause = Type.Object({ reason: Type.String(), since: Type.String() }, { additionalProperties: false });
/** One pause: why, and since when (ISO time). */
export type Pause = Static<typeof Pause>;

const PauseFile = Type.Object(
  { central: Type.Optional(Pause), local: Type.Optional(Pause) },
  { additionalProperties: false },
);
type PauseFile = Static<typeof PauseFile>;
const pauseFileValidator = new Validator(PauseFile);

/** A pause record is a few hundred bytes: anything much larger is not one (and is not read whole). */
const MAX_FILE_BYTES = 64 * 1024;

/**
 * Who holds bulk uploads paused (central, this robot, or both), why and since when, kept in a file so that a
 * pause outlives a restart or a power cut until someone resumes it. Memory is the truth: a pause takes effect
 * when asked, and the file follows, one write at a time, each writing the state as it is then. A file that
 * cannot be read counts as not paused (and is logged); a write that fails is logged and kept as `problem`
 * until a write succeeds.
 */
export class PauseState {
  readonly #path: string;
  readonly #log: Logger;
  readonly #now: () => number;
  #pauses: PauseFile = {};
  #writing: Promise<void> = Promise.resolve();
  #problem: string | undefined;

  constructor(options: { path: string; log: Logger; now?: () => number }) {
    const { path, log, now = () => Date.now() } = options;
    this.#path = path;
    this.#log = log;
    this.#now = now;
  }

  /** The pauses in force, by who paused. */
  get pauses(): Readonly<Partial<Record<PausedBy, Pause>>> {
    return this.#pauses;
  }

  get paused(): boolean {
    return this.#pauses.central !== undefined || this.#pauses.local !== undefined;
  }

  /** Why the last write failed (the pause then holds only until the daemon stops), until one succeeds. */
  get problem(): string | undefined {
    return this.#problem;
  }

  /** Reads the file (at start): no file is no pause; one that cannot be read is logged and counts as none. */
  load(): void {
    this.#pauses = {};
    let text: string;
    try {
      const stat = statSync(this.#path);
      // A FIFO or a device would block the start if read; a huge file is not a pause record.
      if (!stat.isFile()) return this.#unreadable('not a regular file');
      if (stat.size > MAX_FILE_BYTES) return this.#unreadable(`${stat.size} bytes, not a pause record`);
      text = readFileSync(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      return this.#unreadable(errorText(error));
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      return this.#unreadable(`not JSON: ${JSON.stringify(text.slice(0, 60))}`);
    }
    if (!pauseFileValidator.check(value)) {
      const issue = pauseFileValidator.issues(value)[0];
      return this.#unreadable(issue ? `${issue.path || '/'}: ${issue.message}` : 'not a pause record');
    }
    this.#pauses = value;
  }

  /** Pauses at once (a pause again by the same one keeps its since); resolves once the file is written or failed. */
  pause(by: PausedBy, reason: string): Promise<void> {
    const since = this.#pauses[by]?.since ?? new Date(this.#now()).toISOString();
    this.#pauses = { ...this.#pauses, [by]: { reason, since } };
    return this.#save();
  }

  /** Lifts `by`'s pause at once; the file goes once no pause is left. */
  resume(by: PausedBy): Promise<void> {
    const pauses = { ...this.#pauses };
    delete pauses[by];
    this.#pauses = pauses;
    return this.#save();
  }

  /** Writes in turn, so the file ends as the last change left it; never rejects. */
  #save(): Promise<void> {
    this.#writing = this.#writing.then(async () => {
      const paused = this.paused;
      try {
        // A power cut just after the removal may bring the file back: the pause then holds, which is the
        // safe side (a resume again clears it).
        if (!paused) await rm(this.#path, { force: true });
        else await writeDurably(this.#path, `${JSON.stringify(this.#pauses, null, 2)}\n`);
        this.#problem = undefined;
      } catch (error) {
        const after = paused ? 'a restart would not find the pause as it is now' : 'a restart would find bulk paused';
        this.#problem = `cannot write ${this.#path} (${errorText(error)}): ${after}`;
        this.#log.error({ path: this.#path, err: errorText(error) }, `sync: ${this.#problem}`);
      }
    });
    return this.#writing;
  }

  #unreadable(problem: string): void {
    this.#log.warn(
      { path: this.#path, problem },
      `sync: the bulk pause file ${this.#path} cannot be read (${problem}): bulk uploads are not paused; ` +
        '`auraison-edge sync pause` pauses them again and writes the file anew',
    );
  }
}
