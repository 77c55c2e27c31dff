import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorText, writeDurably } from '../../util/index.ts';

/** A list of loop names is a few KB: anything much larger is not one. */
const MAX_FILE_BYTES = 256 * 1024;

/**
 * The autostart loops the operator's stop held, which hold on after its release until an operator starts each
 * (`auraison-edge control start <loop>`). Kept in `<data_dir>/state/held-loops.json`, so a reload, a SIGHUP or a
 * restart between the release and the start does not let a policy drive again by itself. A file that cannot be read
 * holds every loop: it errs on the side of the hold.
 */
export class HeldLoops {
  readonly path: string;
  readonly #names = new Set<string>();
  /** Every loop holds: the file was there and unreadable. */
  #all = false;
  #writes: Promise<void> = Promise.resolve();
  /** Why the file could not be read or written last, or undefined. */
  problem: string | undefined;

  constructor(dataDir: string) {
    this.path = join(dataDir, 'state', 'held-loops.json');
    this.#read();
  }

  has(name: string): boolean {
    return this.#all || this.#names.has(name);
  }

  /** Holds `names` until each is started; written at once. */
  add(names: Iterable<string>): void {
    let changed = false;
    for (const name of names)
      if (!this.#names.has(name)) {
        this.#names.add(name);
        changed = true;
      }
    if (changed) this.#save();
  }

  /** An operator started `name`: it holds no more. False when it was not held. */
  delete(name: string): boolean {
    if (this.#all) {
      // An unreadable file held all: the one started is out, the others stay held, now by name.
      this.#all = false;
      this.problem = undefined;
    } else if (!this.#names.has(name)) return false;
    this.#names.delete(name);
    this.#save();
    return true;
  }

  /** Keeps only the loops that still exist (a reload that removed one). */
  keepOnly(names: Iterable<string>): void {
    const keep = new Set(names);
    if (this.#all) {
      this.#all = false;
      for (const name of keep) this.#names.add(name);
      this.#save();
      return;
    }
    const before = this.#names.size;
    for (const name of [...this.#names]) if (!keep.has(name)) this.#names.delete(name);
    if (this.#names.size !== before) this.#save();
  }

  /** Waits for the writes asked so far. */
  flushed(): Promise<void> {
    return this.#writes;
  }

  #save(): void {
    const text = `${JSON.stringify([...this.#names].sort())}\n`;
    this.#writes = this.#writes.then(() =>
      writeDurably(this.path, text).then(
        () => {
          this.problem = undefined;
        },
        (error: unknown) => {
          this.problem = `the held loops could not be written to ${this.path} (${errorText(error)}): a restart would not find them held`;
        },
      ),
    );
  }

  #read(): void {
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.#unreadable(errorText(error));
      return;
    }
    try {
      if (text.length > MAX_FILE_BYTES) throw new Error(`${text.length} bytes`);
      const names = JSON.parse(text) as unknown;
      if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw new Error('not a list of names');
      for (const name of names) this.#names.add(name);
    } catch (error) {
      this.#unreadable(errorText(error));
    }
  }

  #unreadable(why: string): void {
    this.#all = true;
    this.problem = `${this.path} is unreadable (${why}): every autostart loop holds until an operator starts it`;
  }
}
