import type { DuckDBConnection } from '@duckdb/node-api';

/** The only files operator SQL may read: the lake's data and the uploads' bucket (local dirs or s3:// prefixes). */
export interface ReadableFiles {
  directories: string[];
  /** Single files: the DuckDB file a local catalog is kept in, and its WAL. */
  files: string[];
}

/**
 * Locks the DuckDB instance behind `c` for operator SQL, for as long as it lives: no file but those under
 * `readable` (enable_external_access off: no read_csv('/etc/passwd') or read_text, no COPY TO, ATTACH, LOAD
 * or INSTALL), no secret shown unredacted, and no setting changed after (lock_configuration: `SET
 * enable_external_access = true` fails). Run last, once the extensions are loaded and the lake attached.
 */
export async function lockDown(c: DuckDBConnection, readable: ReadableFiles): Promise<void> {
  if (readable.directories.length > 0)
    await c.run(`SET allowed_directories = [${readable.directories.map(literal).join(', ')}]`);
  if (readable.files.length > 0) await c.run(`SET allowed_paths = [${readable.files.map(literal).join(', ')}]`);
  await c.run('SET allow_unredacted_secrets = false');
  await c.run('SET enable_external_access = false');
  await c.run('SET lock_configuration = true');
}

function literal(text: string): string {
  return `'${text.replaceAll("'", "''")}'`;
}
