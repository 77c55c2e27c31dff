// Invariants checked on a data dir after a crash (kill -9) and a restart. Each returns a list of problems
// (empty: holds). Read-only: the catalog is opened read-only for a moment, as `auraison-edge query` does.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseMetadata } from '../../daemon/bags/metadata.ts';
import type { AgentEventRecord } from '../../daemon/contract/agent-event-record.ts';
import { agentEventsOf } from '../../daemon/contract/agent-events-of.ts';
import { readJournalDir } from '../../daemon/journal/read-only.ts';
import { lakehousePaths, withCatalog } from '../../daemon/lakehouse/catalog.ts';
import { listParquet } from '../../daemon/lakehouse/parquet-files.ts';
import { alive } from '../../daemon/lifecycle/data-dir.ts';

export const RECORDING = '.recording';

/** The journal as `runs` reads it: only a torn tail of the last segment is expected after kill -9. */
export function journalProblems(dataDir: string): {
  problems: string[];
  notes: string[];
  agentEvents: { seq: number; event_id: string }[];
} {
  const dir = join(dataDir, 'log');
  if (!existsSync(dir)) return { problems: [], notes: [], agentEvents: [] };
  const { records, notes } = readJournalDir(dir);
  const segments = readdirSync(dir)
    .filter((f) => /^\d{20}\.log$/.test(f))
    .sort();
  const last = segments.at(-1);
  const problems = notes.filter((n) => !(last && n.startsWith(`${last}: torn record`)));
  for (let i = 1; i < records.length; i++) {
    if (records[i]!.seq !== records[i - 1]!.seq + 1)
      problems.push(`journal seq gap: ${records[i - 1]!.seq} then ${records[i]!.seq}`);
  }
  // A row each in the lakehouse: the events a tool call's record carries (`noted`) count as theirs.
  const agentEvents = records
    .filter((r) => r.kind === 'agent_event')
    .flatMap((r) =>
      agentEventsOf(r.data as AgentEventRecord).map((e) => ({ seq: r.seq, event_id: String(e.event_id) })),
    );
  return { problems, notes, agentEvents };
}

/** Staging dirs whose writer is gone (the lakehouse's start sweeps them). */
export function deadStaging(dataDir: string): string[] {
  const staging = lakehousePaths(dataDir).staging;
  if (!existsSync(staging)) return [];
  return readdirSync(staging).filter((name) => {
    const pid = /^(\d+)-/.exec(name)?.[1];
    return pid === undefined || !alive(Number(pid));
  });
}

export interface SplitInfo {
  bag: string;
  file: string;
  messages: number;
}

export interface DiskBag {
  dir: string;
  recording: boolean;
  /** Splits metadata.yaml lists (undefined: no or unreadable metadata.yaml). */
  listed: SplitInfo[] | undefined;
  mcaps: string[];
}

export function diskBags(dataDir: string): DiskBag[] {
  const bagsDir = join(dataDir, 'bags');
  if (!existsSync(bagsDir)) return [];
  const out: DiskBag[] = [];
  for (const name of readdirSync(bagsDir).sort()) {
    const dir = join(bagsDir, name);
    let entries: string[];
    try {
      if (!statSync(dir).isDirectory()) continue;
      entries = readdirSync(dir);
    } catch {
      continue; // deleted by retention meanwhile
    }
    let listed: SplitInfo[] | undefined;
    try {
      const meta = parseMetadata(readFileSync(join(dir, 'metadata.yaml'), 'utf8'), join(dir, 'metadata.yaml'));
      listed = meta.files.map((f) => ({ bag: dir, file: join(dir, f.path), messages: f.messageCount }));
    } catch {
      listed = undefined;
    }
    out.push({
      dir,
      recording: entries.includes(RECORDING),
      listed,
      mcaps: entries.filter((e) => e.endsWith('.mcap')).map((e) => join(dir, e)),
    });
  }
  return out;
}

export interface CatalogSnapshot {
  /** Recorded segments: split path -> message count. */
  segments: Map<string, number>;
  /** Every segment's message count summed (imported ones too). */
  messages: number;
  eventRowsLive: number;
  eventRowsAll: number;
  eventsLastSeq: number;
  /** Problems seen while the catalog was held: listed files missing, unlisted (orphan) files. */
  problems: string[];
}

/**
 * Reads the catalog read-only and, while it is held (no writer can move files in or delete them meanwhile),
 * compares the parquet files it lists with those in tables/.
 */
export async function catalogSnapshot(dataDir: string): Promise<CatalogSnapshot> {
  const paths = lakehousePaths(dataDir);
  return withCatalog(
    paths.catalog,
    async (conn) => {
      const problems: string[] = [];
      const rows = (
        await conn.runAndReadAll('SELECT path, source, message_count::BIGINT, parquet_files FROM bags')
      ).getRowsJson();
      const segments = new Map<string, number>();
      const listed = new Set<string>();
      let messages = 0;
      for (const [path, source, count, files] of rows as [string, string, string, string[]][]) {
        if (source === 'recorder') segments.set(path, Number(count));
        messages += Number(count);
        for (const f of files) listed.add(f);
      }
      const events = (
        await conn.runAndReadAll('SELECT path, rows::BIGINT, last_seq::BIGINT, deleted_at IS NOT NULL FROM event_files')
      ).getRowsJson() as [string, string, string, boolean][];
      let eventRowsLive = 0;
      let eventRowsAll = 0;
      let eventsLastSeq = 0;
      for (const [path, n, last, deleted] of events) {
        eventsLastSeq = Math.max(eventsLastSeq, Number(last));
        if (path.startsWith('(no events')) continue;
        eventRowsAll += Number(n);
        if (deleted) continue;
        eventRowsLive += Number(n);
        if (!path.startsWith(paths.tables + '/')) problems.push(`event file outside tables/: ${path}`);
        else listed.add(path.slice(paths.tables.length + 1));
      }
      const onDisk = new Set(listParquet(paths.tables));
      for (const f of listed) if (!onDisk.has(f)) problems.push(`catalog lists a parquet file missing from disk: ${f}`);
      for (const f of onDisk) if (!listed.has(f)) problems.push(`orphan parquet file (no catalog row): ${f}`);
      return { segments, messages, eventRowsLive, eventRowsAll, eventsLastSeq, problems };
    },
    { readOnly: true, timeoutMs: 30_000 },
  );
}
