import { copyFileSync, cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { MessageCodec } from '../daemon/bus/index.ts';
import { DefinitionsRegistry } from '../daemon/bus/index.ts';
import { newId } from '../daemon/util/index.ts';
import { lakehousePaths, withCatalog } from '../daemon/lakehouse/index.ts';
import { compactLakehouse } from '../daemon/lakehouse/index.ts';
import { importBag } from '../daemon/lakehouse/index.ts';
import { defineViewsOver, queryLakehouse } from '../daemon/lakehouse/index.ts';
import { quoteString } from '../daemon/lakehouse/index.ts';
import { BagWriter } from '../daemon/recorder/index.ts';
import { fsSegmentIO } from '../daemon/recorder/index.ts';
import type { BenchResult } from './bench.ts';

// Query latency against the number of parquet files in the lakehouse. Each closed split is indexed into
// one file per table it touches: the sim's topics give 5 files per 600 s split (messages, /clock, /odom,
// /scan, /tf; 7 in a bag's first split, with /map and /tf_static), about 21,600 a month on the default
// recorder settings. Ours makes only the views a statement names; the baseline makes every view (what every
// query did before), then runs the same statement. Then the same data compacted (compaction merges old
// splits' files per table and partition, see daemon/lakehouse/compaction.ts) against it not compacted, and
// the compaction's own time.

const OUT = join(import.meta.dirname, 'out');
const COUNTS = (process.env.BENCH_LAKEHOUSE_FILES ?? '100,1000,10000').split(',').map(Number);
const RUNS = 3;
const TOPICS = ['/clock', '/odom', '/scan', '/tf'];

/** One split of 4 topics (std_msgs/String, 50 messages each), indexed by the real importer: 5 files. */
async function oneSegment(dataDir: string): Promise<void> {
  const registry = new DefinitionsRegistry();
  const codec = new MessageCodec(registry);
  const bag = join(dataDir, 'bag');
  mkdirSync(bag, { recursive: true });
  const writer = new BagWriter({
    dir: bag,
    io: fsSegmentIO,
    compression: 'none',
    compressor: undefined,
    chunkSize: 1024 * 1024,
    splitMaxBytes: 0,
    splitMaxDurationNs: 0n,
    schemaText: (t) => registry.schemaText(t),
  });
  for (const t of TOPICS)
    writer.addTopic(t, 'std_msgs/msg/String', { reliability: 'reliable', durability: 'volatile', depth: 10 });
  const start = 1_700_000_000_000_000_000n;
  for (let i = 0; i < 200; i++)
    writer.write(
      TOPICS[i % 4]!,
      start + BigInt(i) * 10_000_000n,
      start + BigInt(i) * 10_000_000n,
      codec.encode('std_msgs/msg/String', { data: `m${i}` }),
    );
  await writer.close();
  await importBag({ path: bag, dataDir, robot: 'bench', registry });
}

/**
 * Copies the one segment's files and catalog row until the lakehouse lists `files` parquet files: what
 * `files / 5` splits indexed one by one leave (the same footers to read), without importing each.
 */
async function grow(dataDir: string, files: number): Promise<void> {
  const { catalog, tables } = lakehousePaths(dataDir);
  await withCatalog(catalog, async (conn) => {
    const [seg] = (await conn.runAndReadAll('SELECT segment_id, parquet_files FROM bags')).getRowsJson() as [
      string,
      string[],
    ][];
    const have = Number((await conn.runAndReadAll('SELECT count(*) FROM bags')).getRows()[0]![0]);
    const rows: string[] = [];
    for (let i = have; i < Math.ceil(files / seg![1].length); i++) {
      const copies = seg![1].map((f) => join(dirname(f), `part-${newId()}.parquet`));
      for (const [k, f] of seg![1].entries()) copyFileSync(join(tables, f), join(tables, copies[k]!));
      rows.push(`(${quoteString(`copy-${i}`)}, [${copies.map(quoteString).join(', ')}]::VARCHAR[])`);
    }
    for (let i = 0; i < rows.length; i += 500) {
      await conn.run(
        `INSERT INTO bags SELECT * EXCLUDE (id, files) REPLACE (c.id AS segment_id, c.files AS parquet_files, c.id AS path, nextval('catalog_seq') AS seq) FROM bags, (VALUES ${rows.slice(i, i + 500).join(', ')}) c(id, files) WHERE bags.segment_id = ${quoteString(seg![0])}`,
      );
    }
  });
}

/** The baseline: every view made, as every query did before, then the statement. */
async function eager(dataDir: string, sql: string): Promise<void> {
  const instance = await DuckDBInstance.create(':memory:');
  const conn = await instance.connect();
  try {
    await defineViewsOver(conn, lakehousePaths(dataDir));
    await conn.runAndReadAll(sql);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function best(work: () => Promise<unknown>): Promise<number> {
  let min = Infinity;
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await work();
    min = Math.min(min, performance.now() - t0);
  }
  return min;
}

export async function run(): Promise<BenchResult[]> {
  mkdirSync(OUT, { recursive: true });
  const work = mkdtempSync(join(OUT, 'lakehouse-'));
  const results: BenchResult[] = [];
  try {
    const dataDir = join(work, 'data');
    await oneSegment(dataDir);
    for (const files of COUNTS) {
      await grow(dataDir, files);
      let lazy = 0;
      for (const sql of ['SELECT count(*) FROM bags', 'SELECT count(*) FROM "/odom"']) {
        const ours = await best(() => queryLakehouse(dataDir, sql));
        const baseline = await best(() => eager(dataDir, sql));
        results.push({
          name: `query ${sql}, ${files} parquet files`,
          ours,
          baseline: { name: 'every view made', value: baseline },
          unit: 'ms',
          better: 'lower',
        });
        lazy = ours;
      }
      // The same files compacted (a copy: the next count grows the original).
      const compacted = join(work, `compacted-${files}`);
      cpSync(dataDir, compacted, { recursive: true });
      const t0 = performance.now();
      const report = await compactLakehouse({ dataDir: compacted, afterS: 0, maxBytes: 256 * 1024 * 1024 });
      const took = performance.now() - t0;
      const sql = 'SELECT count(*) FROM "/odom"';
      const ours = await best(() => queryLakehouse(compacted, sql));
      results.push({
        name: `query ${sql}, ${files} parquet files compacted into ${report.filesAfter}`,
        ours,
        baseline: { name: 'not compacted', value: lazy },
        unit: 'ms',
        better: 'lower',
      });
      results.push({
        name: `compaction of ${files} parquet files (${report.merged.length} merges, one thread)`,
        ours: took,
        unit: 'ms',
        better: 'lower',
        notes: [`peak RSS of the process so far ${Math.round(process.resourceUsage().maxRSS / 1024)} MB`],
      });
      rmSync(compacted, { recursive: true, force: true });
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return results;
}
