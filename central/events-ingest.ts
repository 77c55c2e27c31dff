import type { Logger } from 'auraison-edge/log';
import { Backoff, errorText, sleep } from 'auraison-edge/util';
import { ACCEPTED, addRange, covers, seqRuns, uncovered, type EventsPayload, type Ranges } from './events-payload.ts';
import { isConflict, LAKE, sql, type FleetLake } from './lake.ts';

interface Pending {
  payload: EventsPayload;
  received: Date;
  done: (code: number) => void;
}

export interface IngestCounts {
  batches: number;
  events_written: number;
  events_duplicate: number;
  lost_reported: number;
  commits: number;
  conflicts: number;
  failed_commits: number;
  /** Commits that read cursors from the lake (the others had them from this process's last commit). */
  cursor_reads: number;
}

/** What the ingest uses of the fleet lake: its writer, between transactions and in one. */
export type IngestLake = Pick<FleetLake, 'between' | 'transaction'>;

/** The most journal cursors kept in memory between commits (beyond, they are read again). */
const MAX_CACHED = 100_000;

/** The first wait after a failed commit (the catalog away), doubling up to MAX_BACKOFF_MS. */
const FIRST_BACKOFF_MS = 250;
const MAX_BACKOFF_MS = 15_000;

/**
 * Events into the fleet lakehouse, exactly once per (robot, journal_id, seq) whatever the redeliveries and
 * however many serve processes write. Payloads wait in memory (unacknowledged: the broker keeps them, and
 * sends no more than its in-flight window) and are committed together every `commitMs`, or at `commitRows`:
 * their records are staged in the writer's temp tables (outside any transaction, once), then one DuckLake
 * transaction
 *   1. updates the one-row `ingest_fence`, so that any two concurrent ingest transactions conflict and
 *      the later one is run again from a fresh snapshot (DuckLake's optimistic concurrency),
 *   2. reads each robot journal's cursor (the seqs committed so far, as ranges) and keeps only the records
 *      it does not cover,
 *   3. inserts those from the staged ones into `events` in one statement, the `lost` ranges not yet known into
 *      `lost_ranges`, and the cursors grown by what the payloads cover.
 * A conflict runs steps 1 to 3 again from a fresh snapshot, the records still staged.
 * Only then is each payload acknowledged. A commit that fails otherwise (PostgreSQL away) is retried with
 * backoff, the payloads kept: the broker holds the rest meanwhile, and nothing is acknowledged.
 */
export class EventIngest {
  readonly #lake: IngestLake;
  readonly #log: Logger;
  readonly #commitMs: number;
  readonly #commitRows: number;
  #queue: Pending[] = [];
  #queuedRows = 0;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #backoffMs = 0;
  readonly #backoff = new Backoff({ firstMs: FIRST_BACKOFF_MS, maxMs: MAX_BACKOFF_MS });
  #closed = false;
  #lastError: string | undefined;
  /** The cursors as this process's last commit left them, and that commit's snapshot (#cursors). */
  #cache: { snapshot: bigint; cursors: Map<string, Ranges> } | undefined;
  /** The cached cursors the commit under way started from. */
  #known: Map<string, Ranges> | undefined;
  readonly counts: IngestCounts = {
    batches: 0,
    events_written: 0,
    events_duplicate: 0,
    lost_reported: 0,
    commits: 0,
    conflicts: 0,
    failed_commits: 0,
    cursor_reads: 0,
  };

  constructor(o: { lake: IngestLake; log: Logger; commitMs: number; commitRows: number }) {
    this.#lake = o.lake;
    this.#log = o.log;
    this.#commitMs = o.commitMs;
    this.#commitRows = o.commitRows;
  }

  /** Why the last commit failed, until one succeeds. */
  get lastError(): string | undefined {
    return this.#lastError;
  }

  get waiting(): number {
    return this.#queue.length;
  }

  /** Takes a checked payload; resolves with the PUBACK reason code once it is committed. */
  add(payload: EventsPayload): Promise<number> {
    return new Promise((resolve) => {
      this.#queue.push({ payload, received: new Date(), done: resolve });
      this.#queuedRows += payload.records.length;
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#closed || this.#running || this.#timer || this.#queue.length === 0) return;
    const delay = this.#backoffMs > 0 ? this.#backoffMs : this.#queuedRows >= this.#commitRows ? 0 : this.#commitMs;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#flush().finally(() => {
        this.#running = undefined;
        this.#schedule();
      });
    }, delay);
  }

  async #flush(): Promise<void> {
    const taken = this.#queue.splice(0);
    this.#queuedRows = 0;
    try {
      const t0 = performance.now();
      await this.#lake.between((c) => stage(c, taken));
      const t1 = performance.now();
      for (let attempt = 0; ; attempt++) {
        try {
          const { written, lost, cursors } = await this.#lake.transaction((c) => this.#commit(c, taken));
          const t2 = performance.now();
          await this.#remember(cursors);
          this.#log.debug(
            {
              payloads: taken.length,
              events: written,
              stage_ms: Math.round(t1 - t0),
              commit_ms: Math.round(t2 - t1),
              attempt,
            },
            'central serve: events committed',
          );
          this.counts.commits++;
          this.counts.batches += taken.length;
          this.counts.events_written += written;
          this.counts.events_duplicate += taken.reduce((n, p) => n + p.payload.records.length, 0) - written;
          this.counts.lost_reported += lost;
          if (this.#lastError)
            this.#log.info({ events: written }, 'central serve: the fleet lakehouse takes events again');
          this.#lastError = undefined;
          this.#backoffMs = 0;
          this.#backoff.reset();
          for (const p of taken) p.done(ACCEPTED);
          return;
        } catch (error) {
          if (!isConflict(error) || attempt >= 50) throw error;
          // Run again from a fresh snapshot: the events stay staged, only the seqs kept are worked out again.
          this.counts.conflicts++;
          await sleep(Math.random() * 20 * Math.min(attempt + 1, 10));
        }
      }
    } catch (error) {
      this.counts.failed_commits++;
      const message = errorText(error).split('\n')[0]!;
      this.#backoffMs = this.#backoff.next();
      if (message !== this.#lastError)
        this.#log.warn(
          { err: message, waiting: taken.length, retry_in_ms: this.#backoffMs },
          'central serve: committing events to the fleet lakehouse failed; they stay unacknowledged and are tried again',
        );
      this.#lastError = message;
      // Put back first, in order: what came meanwhile goes after.
      this.#queue.unshift(...taken);
      this.#queuedRows += taken.reduce((n, p) => n + p.payload.records.length, 0);
    }
  }

  /**
   * The cursors of the journals in `taken` as this transaction's snapshot has them. Those this process committed last
   * are taken from memory while the lake's newest snapshot is still that commit's (no other process committed since;
   * one that commits meanwhile conflicts on the fence); the rest are read.
   */
  async #cursors(c: FleetLake['writer'], taken: Pending[]): Promise<Map<string, Ranges>> {
    const cache = this.#cache;
    this.#cache = undefined; // Given back with what this commit wrote, once it is committed (#remember).
    let known = new Map<string, Ranges>();
    if (cache) {
      const now = await c.runAndReadAll(`SELECT id FROM ${LAKE}.current_snapshot()`);
      if (BigInt(now.getRows()[0]![0] as bigint) === cache.snapshot) known = cache.cursors;
    }
    const cursors = new Map<string, Ranges>();
    const unknown = new Set<string>();
    for (const { payload } of taken) {
      const key = `${payload.robot}\u0000${payload.journal_id}`;
      const ranges = known.get(key);
      if (ranges) cursors.set(key, ranges);
      else unknown.add(payload.robot);
    }
    if (unknown.size > 0) {
      this.counts.cursor_reads++;
      const read = await c.runAndReadAll(
        `SELECT robot, journal_id, ranges FROM event_cursors WHERE robot IN (${[...unknown].map(sql).join(', ')})`,
      );
      for (const [robot, journal, ranges] of read.getRows() as [string, string, string][])
        cursors.set(`${robot}\u0000${journal}`, JSON.parse(ranges) as Ranges);
    }
    this.#known = known.size < MAX_CACHED ? known : new Map();
    return cursors;
  }

  /**
   * One transaction's work (see the class) over the staged events: which seqs of each payload are new is worked out
   * here, from the cursors as this transaction's snapshot has them; returns the events written and the seqs
   * reported lost.
   */
  async #commit(
    c: FleetLake['writer'],
    taken: Pending[],
  ): Promise<{ written: number; lost: number; cursors: Map<string, Ranges> }> {
    await c.run('UPDATE ingest_fence SET n = n + 1');
    const cursors = await this.#cursors(c, taken);
    const changed = new Set<string>();
    // What an attempt before this one kept is not this snapshot's.
    await c.run('DELETE FROM temp.main.staged_keep');
    const keep = await c.createAppender('staged_keep', 'main', 'temp');
    const lostRows: string[] = [];
    let written = 0;
    let lost = 0;
    taken.forEach(({ payload, received }, batch) => {
      const key = `${payload.robot}\u0000${payload.journal_id}`;
      let ranges = cursors.get(key) ?? [];
      for (const l of payload.lost ?? []) {
        if (covers(ranges, l.from) && covers(ranges, l.to)) continue;
        const at = received.toISOString();
        lostRows.push(
          `(${[payload.fleet, payload.robot, payload.journal_id].map(sql).join(', ')}, ${l.from}, ${l.to}, ${sql(at)})`,
        );
        ranges = addRange(ranges, l.from, l.to);
        lost += l.to - l.from + 1;
      }
      // The payload's records not yet in the lake, as runs of seqs in a row: its seqs ascend, so a run's first..last
      // takes in no record of the payload outside it.
      for (const [from, to] of seqRuns(payload.records)) {
        for (const [a, b] of uncovered(ranges, from, to)) {
          keep.appendInteger(batch);
          keep.appendBigInt(BigInt(a));
          keep.appendBigInt(BigInt(b));
          keep.endRow();
          written += b - a + 1;
        }
        ranges = addRange(ranges, from, to);
      }
      cursors.set(key, ranges);
      changed.add(key);
    });
    keep.flushSync();
    keep.closeSync();
    if (written > 0) {
      await c.run(
        `INSERT INTO events SELECT b.fleet, b.robot, b.journal_id, e.seq, e.ts_ns, e.kind, e.data, e.omitted,
           CAST(b.received_at AS TIMESTAMPTZ)
         FROM temp.main.staged_events e JOIN temp.main.staged_batches b USING (batch)
           JOIN temp.main.staged_keep k ON k.batch = e.batch AND e.seq BETWEEN k.from_seq AND k.to_seq
         ORDER BY e.batch, e.seq`,
      );
    }

    for (const table of ['staged_keep', 'staged_events', 'staged_batches'])
      await c.run(`DELETE FROM temp.main.${table}`);

    if (lostRows.length > 0) await c.run(`INSERT INTO lost_ranges VALUES ${lostRows.join(', ')}`);

    // The cursors grown, through a staged table: a statement naming a thousand journals takes DuckDB seconds to plan.
    const staged = await c.createAppender('staged_cursors', 'main', 'temp');
    for (const key of changed) {
      const [robot, journal] = key.split('\u0000') as [string, string];
      staged.appendVarchar(robot);
      staged.appendVarchar(journal);
      staged.appendVarchar(JSON.stringify(cursors.get(key)));
      staged.endRow();
    }
    staged.flushSync();
    staged.closeSync();
    await c.run(
      `DELETE FROM event_cursors e USING temp.main.staged_cursors s
         WHERE e.robot = s.robot AND e.journal_id = s.journal_id`,
    );
    await c.run('INSERT INTO event_cursors SELECT robot, journal_id, ranges FROM temp.main.staged_cursors');
    await c.run('DELETE FROM temp.main.staged_cursors');

    return { written, lost, cursors };
  }

  /** Keeps the cursors a commit wrote, with its snapshot: the next commit need not read them while it is the newest. */
  async #remember(written: Map<string, Ranges>): Promise<void> {
    const cursors = this.#known ?? new Map<string, Ranges>();
    this.#known = undefined;
    for (const [key, ranges] of written) cursors.set(key, ranges);
    // Not known (the catalog gone meanwhile): the next commit reads its cursors.
    const snapshot = await this.#lake
      .between((c) => c.runAndReadAll(`SELECT id FROM ${LAKE}.last_committed_snapshot()`))
      .then((read) => BigInt(read.getRows()[0]![0] as bigint))
      .catch(() => undefined);
    if (snapshot !== undefined) this.#cache = { snapshot, cursors };
  }

  /** Stops committing; what waits stays unacknowledged (the broker sends it again to this or another process). */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.#running;
  }
}

/**
 * Stages the payloads' records on the writer, outside a transaction, numbered by their place in `taken`, each
 * payload's header once: a commit that conflicts is run again without appending them again. What a commit that
 * failed otherwise left staged is cleared first.
 */
async function stage(c: FleetLake['writer'], taken: Pending[]): Promise<void> {
  for (const table of ['staged_keep', 'staged_events', 'staged_batches', 'staged_cursors'])
    await c.run(`DELETE FROM temp.main.${table}`);
  const batches = await c.createAppender('staged_batches', 'main', 'temp');
  const events = await c.createAppender('staged_events', 'main', 'temp');
  taken.forEach(({ payload, received }, batch) => {
    batches.appendInteger(batch);
    batches.appendVarchar(payload.fleet);
    batches.appendVarchar(payload.robot);
    batches.appendVarchar(payload.journal_id);
    batches.appendVarchar(received.toISOString());
    batches.endRow();
    for (const r of payload.records) {
      events.appendInteger(batch);
      events.appendBigInt(BigInt(r.seq));
      events.appendBigInt(BigInt(r.ts));
      events.appendVarchar(r.kind);
      if (r.data === undefined) events.appendNull();
      else events.appendVarchar(JSON.stringify(r.data));
      if (r.omitted === undefined) events.appendNull();
      else events.appendVarchar(r.omitted);
      events.endRow();
    }
  });
  for (const appender of [batches, events]) {
    appender.flushSync();
    appender.closeSync();
  }
}
