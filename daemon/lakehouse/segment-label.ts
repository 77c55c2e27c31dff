import { newId } from '../util/index.ts';
import type { TableWriter } from './table-writer.ts';

/**
 * The segment id an import's rows carry: the sha256 of the file being read, computed on a worker while it is
 * read. Rows meanwhile carry a placeholder in their dict-coded segment_id column, given its real value before
 * any batch is written (`settle`, which every tracked writer calls first).
 */
export class SegmentLabel {
  /** Each writer's segment_id column. */
  readonly #columns = new Map<TableWriter, number>();
  #current = '';
  #pending: { label: string; hashing: Promise<string> } | undefined;

  /** The id (or placeholder) rows written now carry. */
  get current(): string {
    return this.#current;
  }

  /** A writer whose `column` holds the segment id: the placeholder is relabelled in it before it writes. */
  track(writer: TableWriter, column: number): void {
    this.#columns.set(writer, column);
    writer.beforeWrite = this.settle;
  }

  /** The file's checksum is known before its rows are read. */
  known(checksum: string): void {
    this.#current = checksum;
  }

  /** The file's rows carry a placeholder until `hashing` resolves and `settle` runs. */
  hashing(hashing: Promise<string>): void {
    this.#current = `\0pending-checksum:${newId()}`;
    this.#pending = { label: this.#current, hashing };
  }

  /** Gives the rows written so far their file's checksum, once it is known (before a batch is written). */
  readonly settle = async (): Promise<void> => {
    const p = this.#pending;
    if (!p) return;
    const sum = await p.hashing;
    if (this.#pending !== p) return;
    for (const [w, column] of this.#columns) w.relabel(column, p.label, sum);
    this.#current = sum;
    this.#pending = undefined;
  };
}
