import type { Logger } from 'auraison-edge/log';
import { errorText, sleep } from 'auraison-edge/util';
import { isConflict, LAKE, type FleetLake } from './lake.ts';

export interface MaintenanceCounts {
  runs: number;
  /** Runs that found another process's maintenance or commit in the way: tried at the next turn. */
  skipped: number;
  failed: number;
  /** Data files of `events` before and after the last run. */
  files_before: number | undefined;
  files_after: number | undefined;
  last_run_at: string | undefined;
  last_error: string | undefined;
}

/** The counts of an upkeep that has not run yet. */
export function noMaintenance(): MaintenanceCounts {
  return {
    runs: 0,
    skipped: 0,
    failed: 0,
    files_before: undefined,
    files_after: undefined,
    last_run_at: undefined,
    last_error: undefined,
  };
}

export interface MaintenanceOptions {
  lake: Pick<FleetLake, 'between'>;
  log: Logger;
  /** Between runs; 0: never on a schedule (run() still works). */
  everyMs: number;
  /** Snapshots older than this are expired, and the files they alone used deleted once as old. */
  keepMs: number;
}

/**
 * The lake's upkeep on a schedule: every events commit writes a small parquet file (and each process commits on its
 * own), so the files are merged (DuckLake's ducklake_merge_adjacent_files), the snapshots older than `keepMs`
 * expired, and the files no snapshot left uses deleted (ducklake_cleanup_old_files), so that queries stay fast as
 * the lake grows. Each process runs it at a random phase; two at once conflict, and the later one skips its turn.
 */
export class LakeMaintenance {
  readonly #o: MaintenanceOptions;
  readonly #abort = new AbortController();
  #loop: Promise<void> | undefined;
  readonly counts: MaintenanceCounts = noMaintenance();

  constructor(o: MaintenanceOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#o.everyMs <= 0 || this.#loop) return;
    this.#loop = (async () => {
      const signal = this.#abort.signal;
      // A random phase: processes started together do not all merge at once.
      let wait = this.#o.everyMs * (0.5 + Math.random());
      while (!signal.aborted) {
        await sleep(wait, { signal });
        if (signal.aborted) return;
        await this.run();
        wait = this.#o.everyMs;
      }
    })();
  }

  /** One run: merge, expire, clean up. Never throws: what failed is in counts.last_error and the log. */
  async run(): Promise<void> {
    const olderThan = `now() - INTERVAL ${Math.max(1, Math.round(this.#o.keepMs / 1000))} SECOND`;
    try {
      const files = await this.#o.lake.between(async (c) => {
        const before = await eventFiles(c);
        await c.run(`CALL ducklake_merge_adjacent_files(${quoted(LAKE)}, 'events')`);
        await c.run(`CALL ducklake_expire_snapshots(${quoted(LAKE)}, older_than => ${olderThan})`);
        await c.run(`CALL ducklake_cleanup_old_files(${quoted(LAKE)}, older_than => ${olderThan})`);
        return { before, after: await eventFiles(c) };
      });
      this.counts.runs++;
      this.counts.files_before = files.before;
      this.counts.files_after = files.after;
      this.counts.last_run_at = new Date().toISOString();
      this.counts.last_error = undefined;
      this.#o.log.info(
        { events_files_before: files.before, events_files_after: files.after },
        'central serve: the fleet lake merged its small files and expired old snapshots',
      );
    } catch (error) {
      if (isConflict(error)) {
        this.counts.skipped++;
        this.#o.log.debug({ err: errorText(error) }, 'central serve: lake upkeep met another writer; next turn');
        return;
      }
      this.counts.failed++;
      this.counts.last_error = errorText(error).split('\n')[0];
      this.#o.log.warn(
        { err: this.counts.last_error },
        'central serve: the lake upkeep (merging files, expiring snapshots) failed; tried again at the next turn',
      );
    }
  }

  async close(): Promise<void> {
    this.#abort.abort();
    await this.#loop;
  }
}

const quoted = (s: string) => `'${s.replaceAll("'", "''")}'`;

async function eventFiles(c: Parameters<Parameters<FleetLake['between']>[0]>[0]): Promise<number> {
  const read = await c.runAndReadAll(`SELECT count(*) FROM ducklake_list_files(${quoted(LAKE)}, 'events')`);
  return Number(read.getRows()[0]![0]);
}
