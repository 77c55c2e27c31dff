import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { errorText, writeDurably } from '../daemon/util/index.ts';

/** The file of the counters of central's commands the robot took: `<data_dir>/state/central-command-counter.json`. */
export function commandCounterPath(dataDir: string): string {
  return join(dataDir, 'state', 'central-command-counter.json');
}

/**
 * How far below the highest counter taken a command may still come, in the counter's units (central's
 * microseconds): `central serve` (grants, resends) and `central intent` sign apart, so their commands may
 * reach the robot out of order by the time a message spends in flight, or by the clocks' difference.
 */
export const COUNTER_WINDOW = 60_000_000n;
/** The most counters kept above the floor; past it the lowest go and the floor rises to them. */
const MAX_KEPT = 2000;
/** The file is a floor and at most MAX_KEPT counters: anything much larger is not one. */
const MAX_FILE_BYTES = 256 * 1024;

/**
 * The counters of central's commands this robot took, kept durably so a command is taken once, across
 * restarts: a counter is new when it is above the floor and not among those kept. Claiming one records it in
 * memory at once (a second copy arriving meanwhile is refused), then the file is written before the command acts
 * (a stop excepted). The floor follows the highest counter less COUNTER_WINDOW; below it every command is refused
 * as replayed. Calls to `persist` are answered in order, one write at a time.
 */
export class CommandCounterStore {
  readonly #path: string;
  #floor = 0n;
  readonly #kept = new Set<bigint>();
  #highest = 0n;
  #writing: Promise<void> = Promise.resolve();
  readonly #readOnly: boolean;

  /**
   * `readOnly`: a copy that reads the file and keeps its claims in memory, never writing (the stop connection's
   * thread: the link's own store writes what the link takes).
   */
  constructor(options: { path: string; readOnly?: boolean }) {
    const { path, readOnly = false } = options;
    this.#path = path;
    this.#readOnly = readOnly;
  }

  get path(): string {
    return this.#path;
  }

  /** The highest counter taken (0 before any). */
  get highest(): bigint {
    return this.#highest;
  }

  /**
   * Reads the file: none is a robot that took no signed command yet. One that cannot be read is thrown: taking
   * commands without it would take again every command ever captured, so the link does not start.
   */
  load(): void {
    let text: string;
    try {
      const stat = statSync(this.#path);
      if (!stat.isFile() || stat.size > MAX_FILE_BYTES) throw new Error('not a counter file');
      text = readFileSync(this.#path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw this.#unreadable(errorText(error));
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw this.#unreadable(`not JSON (${errorText(error)})`);
    }
    const { floor, kept } = (value ?? {}) as { floor?: unknown; kept?: unknown };
    if (typeof floor !== 'string' || !/^[0-9]+$/.test(floor) || !Array.isArray(kept))
      throw this.#unreadable('expected {"floor": "<digits>", "kept": [...]}');
    this.#floor = BigInt(floor);
    this.#highest = this.#floor;
    for (const c of kept) {
      if (typeof c !== 'string' || !/^[0-9]+$/.test(c)) throw this.#unreadable(`a kept counter ${JSON.stringify(c)}`);
      const counter = BigInt(c);
      this.#kept.add(counter);
      if (counter > this.#highest) this.#highest = counter;
    }
  }

  /**
   * Takes `counter` in memory if it is new (a second copy arriving meanwhile is refused), and says whether it was:
   * false for one taken before (or below the floor). `persist` then writes the file.
   */
  claim(counter: bigint): boolean {
    if (counter <= this.#floor || this.#kept.has(counter)) return false;
    this.#kept.add(counter);
    if (counter > this.#highest) this.#highest = counter;
    this.#raiseFloor(this.#highest - COUNTER_WINDOW);
    if (this.#kept.size > MAX_KEPT) this.#raiseFloor([...this.#kept].sort(compare)[this.#kept.size - MAX_KEPT - 1]!);
    return true;
  }

  /**
   * Writes the counters taken so far; rejects when the file could not be written (the command must not act, but a
   * stop, which acted on its claim; its counter stays taken).
   */
  persist(): Promise<void> {
    if (this.#readOnly) return Promise.resolve();
    const text = JSON.stringify({ floor: this.#floor.toString(), kept: [...this.#kept].map(String) });
    const written = this.#writing.then(() => writeDurably(this.#path, text));
    this.#writing = written.catch(() => undefined); // the failure is the caller's; the next write goes on
    return written;
  }

  #raiseFloor(to: bigint): void {
    if (to <= this.#floor) return;
    this.#floor = to;
    for (const c of this.#kept) if (c <= to) this.#kept.delete(c);
  }

  #unreadable(problem: string): Error {
    return new Error(
      `${this.#path}: the counters of central's commands cannot be read (${problem}): without them a captured command could be taken again; remove the file only if you accept that, or restore it`,
    );
  }
}

function compare(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
