import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { errorText, newId } from '../daemon/util/index.ts';
import { writeDurably } from '../daemon/util/index.ts';

/** Where the outbox keeps its cursor: `<data_dir>/state/central-outbox.json`. */
export function outboxCursorPath(dataDir: string): string {
  return join(dataDir, 'state', 'central-outbox.json');
}

export interface CursorState {
  /**
   * Names this journal's seq space: (journal_id, seq) is a record's idempotent id at central. A new one is
   * made when there is no cursor yet (a new data dir, or the file deleted), so seqs that start again at 1 in
   * a new data dir are never taken for ones central already has.
   */
  journal_id: string;
  /** Every record up to this seq was acknowledged by the broker (PUBACK). */
  acked_seq: number;
}

export interface LoadedCursor {
  state: CursorState;
  /** Why the file was not used, when it was there and could not be read. */
  problem?: string;
}

/**
 * Reads the cursor for a journal holding `firstSeq`..`lastSeq`. No file: a new journal id, nothing acked yet
 * (`firstSeq - 1`), so everything the journal still holds goes up. A file that cannot be read is treated the
 * same way (and said): records go up again under a new journal id, at least once rather than never. So is a
 * cursor past the journal's last record: that journal is not the one central got its records from (its log
 * was deleted or replaced), and its seqs start again below the cursor; under the old id they would never go
 * up, and central would take them for records it has.
 */
export function loadCursor(path: string, firstSeq: number, lastSeq: number): LoadedCursor {
  const fresh = (): CursorState => ({ journal_id: newId(), acked_seq: firstSeq - 1 });
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { state: fresh() };
    return { state: fresh(), problem: `cannot read ${path}: ${errorText(error)}` };
  }
  try {
    const value = JSON.parse(text) as Partial<CursorState>;
    if (
      typeof value.journal_id === 'string' &&
      value.journal_id !== '' &&
      Number.isSafeInteger(value.acked_seq) &&
      (value.acked_seq as number) >= 0
    ) {
      const acked = value.acked_seq as number;
      if (acked > lastSeq)
        return {
          state: fresh(),
          problem: `${path} says records up to ${acked} were sent, and the journal ends at ${lastSeq}: it is another journal (its log deleted or replaced)`,
        };
      return { state: { journal_id: value.journal_id, acked_seq: acked } };
    }
  } catch {
    // below
  }
  return { state: fresh(), problem: `${path} is not an outbox cursor (${JSON.stringify(text.slice(0, 60))})` };
}

/**
 * Writes the cursor durably, at most one write at a time: a save asked for while one is under way is made
 * once it ends, with the state as it is then. The cursor may lag the broker's acks (records then go up again
 * after a crash, at least once); it never runs ahead of them.
 */
export class CursorWriter {
  #path: string;
  #writing: Promise<void> | undefined;
  #again = false;
  #lastError: string | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  /** Why the last save failed (a full disk), or undefined. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  save(state: () => CursorState): Promise<void> {
    if (this.#writing) {
      this.#again = true;
      return this.#writing;
    }
    this.#writing = (async () => {
      do {
        this.#again = false;
        try {
          await writeDurably(this.#path, `${JSON.stringify(state())}\n`);
          this.#lastError = undefined;
        } catch (error) {
          this.#lastError = `cannot write ${this.#path}: ${errorText(error)}`;
        }
      } while (this.#again);
      this.#writing = undefined;
    })();
    return this.#writing;
  }
}
