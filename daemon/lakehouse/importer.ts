import { join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { BagError, locateBag, prepareStorage } from '../bags/index.ts';
import { BagImport } from './bag-import.ts';
import { lakehousePaths, withCatalog } from './catalog.ts';
import { sha256File } from './file-hash.ts';
import { sweepStaging } from './housekeeping.ts';
import type { ImportOptions, ImportReport, KnownToCatalog } from './import-types.ts';

/**
 * Imports a rosbag2 bag into the lakehouse: each storage file becomes a segment (a row of `bags`), each
 * message a row of `messages`, each message of a projected topic a row of that topic's table, decoded into
 * typed columns; messages of unknown types, and messages that do not decode as their type (corrupt), are
 * kept as raw bytes in `raw_messages` and reported, each kind on its own. Parquet is
 * staged first and committed only when every file has been read, so a bad file leaves nothing behind.
 * Segments already imported (same checksum) are skipped.
 */
export async function importBag(options: ImportOptions): Promise<ImportReport> {
  const { dataDir, source = 'import', only, catalogWaitMs: timeoutMs, signal } = options;
  signal?.throwIfAborted();
  const bag = locateBag(options.path);
  for (const t of bag.metadata?.topics ?? []) {
    if (t.serializationFormat !== 'cdr')
      throw new BagError(
        join(bag.path, 'metadata.yaml'),
        `topic ${t.name} has serialization format "${t.serializationFormat}"; only cdr can be imported`,
      );
  }
  const files = only ? bag.files.filter((f) => only.includes(f)) : bag.files;
  // A bag import (the CLI's, beside the daemon or not) first clears what dead writers left in staging;
  // the daemon does so at its start, not per split.
  if (source === 'import') sweepStaging(dataDir);
  // Independent, so started together: the first file's checksum (always needed), the decompressors, the
  // catalog read and the in-memory DuckDB.
  const firstHash = files.length > 0 ? sha256File(files[0]!) : undefined;
  firstHash?.catch(() => undefined); // awaited in the loop below, or abandoned with the import
  prepareStorage(bag.storage).catch(() => undefined); // a failure shows again where the file is opened
  const { known, instance } = await readCatalogBeside(lakehousePaths(dataDir).catalog, timeoutMs);
  const run = new BagImport(options, bag, known, instance);
  try {
    await run.open();
    for (const file of files) await run.importFile(file, file === files[0] ? firstHash : undefined);
    return await run.finish();
  } finally {
    await run.close();
  }
}

/** Reads what the catalog knows while an in-memory DuckDB starts; neither is left open if the other fails. */
async function readCatalogBeside(
  catalog: string,
  timeoutMs: number | undefined,
): Promise<{ known: KnownToCatalog; instance: DuckDBInstance }> {
  const reading = withCatalog(
    catalog,
    async (conn) => {
      const rows = (await conn.runAndReadAll('SELECT segment_id, size_bytes, raw_messages FROM bags')).getRows();
      const projections = (await conn.runAndReadAll('SELECT topic, type, table_name FROM projections'))
        .getRows()
        .map((r) => ({ topic: String(r[0]), type: String(r[1]), table: String(r[2]) }));
      return {
        segments: new Map(rows.map((r) => [String(r[0]), Number(r[2] ?? 0)])),
        sizes: new Set(rows.map((r) => Number(r[1]))),
        projections,
      };
    },
    { timeoutMs },
  );
  const creating = DuckDBInstance.create(':memory:');
  try {
    const [known, instance] = await Promise.all([reading, creating]);
    return { known, instance };
  } catch (error) {
    creating.then(
      (i) => i.closeSync(),
      () => undefined,
    );
    throw error;
  }
}
