import { statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { BagError } from './errors.ts';
import { Fields, MAGIC, Op } from './mcap-records.ts';
import { ZSTD_MAGIC } from './message-compression.ts';
import { emptyDb3, SqliteFileReader } from './sqlite-file-reader.ts';

export { emptyDb3 };
import type { StorageId } from './open-bag.ts';
import { errorText } from '../util/index.ts';

/**
 * Checks that a storage file is what figures read from metadata.yaml take for granted: an MCAP file's
 * magic and Header record at its start and its closing magic at its end; a .db3 file's PRAGMA quick_check
 * (which reads the whole file). Throws a BagError naming the file, the problem and what to do: `bag repair` of
 * `repairs`, the bag directory the file is a split of or the file itself when it was given alone (a directory would
 * be taken for a bag, and other files in it for its splits).
 */
export async function checkStorageFile(file: string, storage: StorageId, repairs: string = file): Promise<void> {
  if (storage === 'sqlite3') {
    // SQLite takes a 0-byte file for an empty database, which passes quick_check: say what it is instead.
    if (statSync(file).size === 0)
      throw new BagError(file, emptyDb3('what metadata.yaml says of it cannot be trusted'));
    const damage = SqliteFileReader.quickCheck(file);
    if (damage)
      throw new BagError(
        file,
        sqliteDamaged(file, damage, 'what it holds cannot be trusted (bag repair handles only MCAP files)'),
      );
    return;
  }
  // compression_mode FILE: its MCAP start and end are only seen once it is decompressed, which opening it does.
  const problem = file.endsWith('.zstd') ? await zstdProblem(file) : await mcapProblem(file);
  if (problem)
    throw new BagError(file, `${problem}; \`auraison-edge bag repair ${repairs}\` recovers what still checks`);
}

/**
 * How a .db3 file that fails SQLite's quick_check is described: the finding, `consequence`, and what can salvage its
 * rows.
 */
export function sqliteDamaged(file: string, finding: string, consequence: string): string {
  // quick_check heads its findings with "*** in database main ***", which says nothing: the line after it does.
  const lines = finding
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const said = lines.find((l) => !/^\*\*\* in database /.test(l)) ?? lines[0] ?? finding;
  return `file is damaged (malformed): SQLite's quick_check says "${said}"; ${consequence}. sqlite3's \`.recover\` can salvage rows: \`sqlite3 ${file} .recover | sqlite3 ${file}.recovered\`, then put that in its place`;
}

/** Why a split compressed whole is not zstd data, or undefined when it starts as a zstd frame does. */
async function zstdProblem(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const head = new Uint8Array(4);
    const { bytesRead } = await fh.read(head, 0, 4, 0);
    const magic = bytesRead === 4 ? new DataView(head.buffer).getUint32(0, true) : 0;
    return magic === ZSTD_MAGIC
      ? undefined
      : 'not zstd data (no zstd magic at its start), as compression_mode FILE with compression_format zstd writes a split';
  } finally {
    await fh.close();
  }
}

/** What is wrong with an MCAP file's start or end, or undefined when both are whole. */
async function mcapProblem(file: string): Promise<string | undefined> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = new Uint8Array(Math.min(size, 8 + 9 + 4096));
    await fh.read(head, 0, head.length, 0);
    if (size === 0) return 'the file is empty (0 bytes)';
    if (size < 8 || MAGIC.some((b, i) => head[i] !== b)) return 'MCAP header unreadable (no MCAP magic at its start)';
    const damaged = headerProblem(head, size);
    if (damaged) return `MCAP header unreadable (the Header record ${damaged})`;
    const tail = new Uint8Array(8);
    await fh.read(tail, 0, 8, size - 8);
    if (size < 16 || MAGIC.some((b, i) => tail[i] !== b))
      return 'truncated MCAP: it ends without its closing magic (cut short by a crash or a full disk, or still being written)';
    return undefined;
  } finally {
    await fh.close();
  }
}

/** Why the Header record after the magic can't be read, or undefined when it can. */
function headerProblem(head: Uint8Array, size: number): string | undefined {
  if (head.length < 17) return 'is cut off';
  if (head[8] !== Op.HEADER) return `is missing (a record of opcode ${head[8]} is where it should be)`;
  const length = new DataView(head.buffer, head.byteOffset, head.byteLength).getBigUint64(9, true);
  if (length > BigInt(size - 17)) return `claims ${length} bytes, more than the file holds`;
  // a profile and library longer than 4 KiB: not worth reading here
  if (length > BigInt(head.length - 17)) return undefined;
  const f = new Fields(head, 17, 17 + Number(length));
  try {
    f.string();
    f.string();
  } catch (error) {
    return errorText(error).replace(/^a/, 'has a');
  }
  return f.at === f.end ? undefined : `has ${f.end - f.at} bytes left over after its fields`;
}
