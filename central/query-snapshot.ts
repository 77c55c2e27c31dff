import { copyFileSync, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

/** One snapshot of the catalog file: its DuckDB, the files it reads, and the queries using it. */
interface Snapshot {
  db: DuckDBInstance;
  /** The catalog's (size, mtime) of the file and its WAL when copied: a change means central wrote since. */
  stamp: string;
  files: string[];
  users: number;
  retired: boolean;
}

export interface CatalogSnapshotsOptions {
  /** The lake's DuckDB catalog file (the writer holds it open). */
  catalog: string;
  /** Opens a locked-down DuckDB with `file`, a copy of the catalog, attached READ_ONLY as the lake. */
  open: (file: string) => Promise<DuckDBInstance>;
  /** Runs `work` while the writer has no transaction open, so the copy is of committed state only. */
  quiet: <T>(work: () => Promise<T>) => Promise<T>;
  /**
   * Folds the catalog's WAL into its file (the writer's CHECKPOINT), run between commits when the WAL is large; when
   * another connection's write transaction refuses it, the copy goes on with the WAL.
   */
  checkpoint: () => Promise<void>;
}

/**
 * A WAL past this is folded into the catalog file before it is copied: a copy attaches in ~20 ms without a WAL,
 * while replaying 470 kB of one took ~300 ms (measured on this project's 2-core machines, under load).
 */
const CHECKPOINT_WAL_BYTES = 64 * 1024;

/**
 * The fleet query's DuckDB when the lake's catalog is a DuckDB file: a copy of the file (and its WAL) taken between
 * two of central's commits, attached READ_ONLY in a DuckDB of its own. Read-only by construction: the query's
 * DuckDB never holds central's catalog at all, so no statement (ducklake_cleanup_old_files, a CHECKPOINT) can touch
 * it. A DuckDB attaching the live file would read it stale (it sees the file as it was at ATTACH) and could read
 * blocks a later checkpoint reused; a copy is immutable. A query takes the newest copy, and a new one is made when
 * the catalog's file or WAL changed since (size or mtime); a copy no query uses any more is closed and deleted.
 */
export class CatalogSnapshots {
  readonly #catalog: string;
  readonly #open: (file: string) => Promise<DuckDBInstance>;
  readonly #quiet: CatalogSnapshotsOptions['quiet'];
  readonly #checkpoint: () => Promise<void>;
  readonly #dir: string;
  #current: Snapshot | undefined;
  #making: Promise<Snapshot> | undefined;
  #made = 0;
  #closed = false;

  constructor({ catalog, open, quiet, checkpoint }: CatalogSnapshotsOptions) {
    this.#catalog = catalog;
    this.#open = open;
    this.#quiet = quiet;
    this.#checkpoint = checkpoint;
    this.#dir = join(dirname(catalog), `.${basename(catalog)}.query`);
  }

  /** Copies made so far (each a catalog change a query saw). */
  get made(): number {
    return this.#made;
  }

  /** A connection to the newest snapshot; `release` once the query is done with it. */
  async connect(): Promise<{ connection: DuckDBConnection; release: () => void }> {
    const snapshot = await this.#fresh();
    snapshot.users++;
    try {
      const connection = await snapshot.db.connect();
      let released = false;
      return {
        connection,
        release: () => {
          if (released) return;
          released = true;
          connection.closeSync();
          snapshot.users--;
          this.#sweep(snapshot);
        },
      };
    } catch (error) {
      snapshot.users--;
      this.#sweep(snapshot);
      throw error;
    }
  }

  /** Closes every snapshot and deletes the copies. */
  close(): void {
    this.#closed = true;
    const current = this.#current;
    this.#current = undefined;
    if (current) {
      current.retired = true;
      current.users = 0;
      this.#sweep(current);
    }
    rmSync(this.#dir, { recursive: true, force: true });
  }

  async #fresh(): Promise<Snapshot> {
    if (this.#closed) throw new Error('the fleet lake is closed');
    const current = this.#current;
    if (current && current.stamp === this.#stamp()) return current;
    this.#making ??= this.#make().finally(() => (this.#making = undefined));
    return this.#making;
  }

  async #make(): Promise<Snapshot> {
    mkdirSync(this.#dir, { recursive: true });
    const n = ++this.#made;
    const file = join(this.#dir, `catalog-${n}.duckdb`);
    const { stamp, files } = await this.#quiet(async () => {
      const wal = `${this.#catalog}.wal`;
      if ((statSync(wal, { throwIfNoEntry: false })?.size ?? 0) > CHECKPOINT_WAL_BYTES)
        await this.#checkpoint().catch((error: unknown) => {
          // Another connection's write transaction holds DuckDB's checkpoint lock: the copy takes the WAL with it.
          if (!/Cannot CHECKPOINT/.test(String(error))) throw error;
        });
      const copied = [file];
      copyFileSync(this.#catalog, file);
      if (existsSync(wal)) {
        copyFileSync(wal, `${file}.wal`);
        copied.push(`${file}.wal`);
      }
      return { stamp: this.#stamp(), files: copied };
    });
    let db: DuckDBInstance;
    try {
      db = await this.#open(file);
    } catch (error) {
      for (const f of [...files, `${file}.wal`]) rmSync(f, { force: true });
      throw error;
    }
    const snapshot: Snapshot = { db, stamp, files: [...files, `${file}.wal`], users: 0, retired: false };
    const previous = this.#current;
    this.#current = snapshot;
    if (previous) {
      previous.retired = true;
      this.#sweep(previous);
    }
    return snapshot;
  }

  /** Closes a retired snapshot once no query uses it, and deletes its copy. */
  #sweep(snapshot: Snapshot): void {
    if (!snapshot.retired || snapshot.users > 0) return;
    snapshot.db.closeSync();
    for (const f of snapshot.files) rmSync(f, { force: true });
  }

  /** The catalog file's and its WAL's size and mtime, as one string. */
  #stamp(): string {
    return [this.#catalog, `${this.#catalog}.wal`]
      .map((f) => {
        const s = statSync(f, { throwIfNoEntry: false, bigint: true });
        return s ? `${s.size}:${s.mtimeNs}` : '-';
      })
      .join('|');
  }
}
