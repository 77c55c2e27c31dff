import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, extname, join, relative, resolve } from 'node:path';
import { lfsPointerMessage, readLfsPointer, errorText } from '../util/index.ts';
import { BagError } from './errors.ts';
import { McapFileReader } from './mcap-file-reader.ts';
import { openDecompressedSplit } from './file-decompression.ts';
import { compressionProblem, decompressingReader, fileCompressed, messageDecompressor } from './message-compression.ts';
import { listedFiles, parseMetadata, type BagMetadata } from './metadata.ts';
import { recordingFiles } from './recording-files.ts';
import { SqliteFileReader } from './sqlite-file-reader.ts';
import type { StorageFileReader } from './storage-reader.ts';

export type StorageId = 'mcap' | 'sqlite3';

/** A bag located on disk: its storage files in order, its metadata when it has some, and what was odd. */
export interface LocatedBag {
  /** The directory, or the bare storage file given. */
  path: string;
  name: string;
  storage: StorageId;
  /** Absolute paths of the storage files to read, in split order. */
  files: string[];
  metadata: BagMetadata | undefined;
  /** Problems that did not stop reading (a file metadata names that is missing, ...). */
  warnings: string[];
}

const EXTENSIONS: Record<string, StorageId> = { '.mcap': 'mcap', '.db3': 'sqlite3' };

/**
 * Finds a bag at `path`: a rosbag2 directory (metadata.yaml plus storage files), a directory of storage
 * files without metadata, or a bare .mcap or .db3 file. Throws BagError naming the path when it is none.
 */
export function locateBag(path: string): LocatedBag {
  const abs = resolve(path);
  let stat;
  try {
    stat = statSync(abs);
  } catch {
    throw new BagError(abs, 'no such file or directory');
  }
  if (stat.isFile()) {
    const storage = EXTENSIONS[extname(abs)];
    if (!storage) throw new BagError(abs, 'not a bag: expected a rosbag2 directory, or a .mcap or .db3 file');
    if (readLfsPointer(abs)) throw new BagError(abs, lfsPointerMessage([abs], 'bag file'));
    return { path: abs, name: basename(abs, extname(abs)), storage, files: [abs], metadata: undefined, warnings: [] };
  }
  if (!stat.isDirectory()) throw new BagError(abs, 'not a bag: neither a file nor a directory');
  const warnings: string[] = [];
  let present = readdirSync(abs)
    .filter((f) => EXTENSIONS[extname(f)] !== undefined)
    .sort(naturalOrder);
  const metaFile = join(abs, 'metadata.yaml');
  const metadata = existsSync(metaFile) ? readMetadata(metaFile, abs, present) : undefined;
  const compression = compressionProblem(metadata);
  if (compression) throw new BagError(metaFile, compression);
  // Files of another recording beside the bag's splits are not read as its splits.
  const { splits, others } = recordingFiles(abs, present, metadata ? listedFiles(metadata) : []);
  if (others.length > 0)
    warnings.push(
      `${abs}: left out ${others.join(', ')}: not split${others.length === 1 ? '' : 's'} of this bag (its splits are ${splits.join(', ')})`,
    );
  present = splits;
  if (!metadata) {
    if (present.length === 0) {
      // The recorder's marker, alone: its first message never reached the bag (yet).
      if (existsSync(join(abs, '.recording'))) {
        throw new BagError(
          abs,
          `not a bag yet: it holds only a .recording marker (a recorder is writing it and has no message in it yet, or was killed before its first one); once no recorder writes it, \`auraison-edge bag repair ${abs}\` finishes it as an empty bag`,
        );
      }
      throw new BagError(abs, 'not a bag: no metadata.yaml and no .mcap or .db3 files in it');
    }
    warnings.push(`${metaFile}: missing; reading the storage files present (${present.join(', ')})`);
  }
  let storage: StorageId | undefined = metadata ? storageOf(metadata.storageIdentifier) : undefined;
  let files: string[] = [];
  if (metadata) {
    const named = listedFiles(metadata);
    const missing: string[] = [];
    for (const rel of named) {
      // Old bags list paths with the bag directory in front (`bag/bag_0.db3`): try the bare name too.
      // A bag's files are in its directory: a path that leads out of it (`../x.mcap`, `/x.mcap`) is not followed.
      const candidates = [join(abs, rel), join(abs, basename(rel))].filter((c) => !relative(abs, c).startsWith('..'));
      const found = candidates.find((c) => existsSync(c));
      if (found) files.push(found);
      else missing.push(rel);
    }
    const outside = missing.filter((rel) => relative(abs, join(abs, rel)).startsWith('..'));
    const absent = missing.filter((rel) => !outside.includes(rel));
    if (outside.length > 0)
      warnings.push(
        `${metaFile}: names ${outside.join(', ')}, outside the bag directory: not followed (a bag's files are listed relative to it)`,
      );
    if (absent.length > 0)
      warnings.push(`${metaFile}: names ${absent.join(', ')}, which ${absent.length === 1 ? 'is' : 'are'} not there`);
    if (named.length === 0 && present.length > 0) {
      // What a recorder killed mid-split leaves: its metadata.yaml is written as each split closes, so it
      // names none yet. The splits present are the bag; reading them says what `bag info FILE` says.
      const recording = existsSync(join(abs, '.recording')) ? ' and a .recording marker' : '';
      warnings.push(
        `${metaFile}: names no storage file yet: an unfinished recording (killed while recording, or still being written), with ${present.join(', ')}${recording}; \`auraison-edge bag repair ${abs}\` finishes it`,
      );
      files = present.map((f) => join(abs, f));
    }
    if (missing.length > 0) {
      const fallback = present.map((f) => join(abs, f)).filter((f) => !files.includes(f));
      files = [...files, ...fallback].sort(naturalOrder);
      warnings.push(
        `${metaFile}: reading the storage files present instead (${files.map((f) => basename(f)).join(', ') || 'none'})`,
      );
    }
  } else {
    files = present.map((f) => join(abs, f));
  }
  if (files.length === 0)
    throw new BagError(abs, 'not a bag: its metadata.yaml names no storage file that exists, and none is present');
  const pointers = files.filter((f) => readLfsPointer(f));
  if (pointers.length > 0) throw new BagError(abs, lfsPointerMessage(pointers, 'split'));
  storage ??= EXTENSIONS[extname(files[0]!)];
  if (!storage) throw new BagError(abs, `not a bag: ${basename(files[0]!)} is neither .mcap nor .db3`);
  // compression_mode FILE: `<bag>_0.mcap.zstd` is an .mcap file compressed whole.
  const unzipped = (f: string) => (fileCompressed(metadata) ? f.replace(/\.zstd$/, '') : f);
  const other = files.filter((f) => EXTENSIONS[extname(unzipped(f))] !== storage);
  if (other.length > 0)
    throw new BagError(
      abs,
      `mixes storage formats: ${other.map((f) => basename(f)).join(', ')} ${other.length === 1 ? 'is' : 'are'} not ${storage}`,
    );
  return { path: abs, name: basename(abs), storage, files, metadata, warnings };
}

/** A bag's metadata.yaml; one that can't be read is a BagError saying what rebuilds it from the files present. */
function readMetadata(metaFile: string, dir: string, present: string[]): BagMetadata {
  try {
    return parseMetadata(readFileSync(metaFile, 'utf8'), metaFile);
  } catch (error) {
    if (!(error instanceof BagError))
      throw new BagError(metaFile, `cannot be read (${(error as NodeJS.ErrnoException).code ?? errorText(error)})`);
    // A torn file (a crash mid-write by a writer that was not atomic) is what a rebuild is for; a YAML
    // alias bomb or a file of another kind is reported as it is.
    if (present.length === 0 || !/: not valid YAML: /.test(error.message)) throw error;
    const advice = present.some((f) => extname(f) === '.mcap')
      ? `; \`auraison-edge bag repair ${dir}\` rebuilds it from the .mcap files present (${present.join(', ')}), keeping this one as metadata.yaml.orig`
      : `; move it out of ${dir} and the .db3 files present (${present.join(', ')}) are read without it`;
    throw new BagError(error.file, `${error.message.slice(error.file.length + 2)}${advice}`);
  }
}

/**
 * Opens one storage file of `bag` with the reader its format needs, its messages decompressed when the
 * bag's metadata.yaml says they were compressed one by one (compression_mode MESSAGE).
 */
export async function openBagFile(bag: LocatedBag, file: string): Promise<StorageFileReader> {
  const decompress = await messageDecompressor(bag.metadata, join(bag.path, 'metadata.yaml'));
  const reader =
    fileCompressed(bag.metadata) && file.endsWith('.zstd')
      ? await openDecompressedSplit(file, (plain) => openStorageFile(plain, bag.storage))
      : await openStorageFile(file, bag.storage);
  return decompress ? decompressingReader(reader, decompress) : reader;
}

/** Readies what opening files of a storage kind needs (MCAP's decompressors), so a caller can overlap it. */
export async function prepareStorage(storage: StorageId): Promise<void> {
  if (storage === 'mcap') await McapFileReader.prepare();
}

export async function openStorageFile(
  file: string,
  storage: StorageId = EXTENSIONS[extname(file)] ?? 'mcap',
): Promise<StorageFileReader> {
  return storage === 'mcap' ? McapFileReader.open(file) : SqliteFileReader.open(file);
}

function storageOf(identifier: string): StorageId | undefined {
  if (identifier === 'mcap') return 'mcap';
  if (identifier === 'sqlite3') return 'sqlite3';
  return undefined;
}

/** `bag_2` before `bag_10`. */
export function naturalOrder(a: string, b: string): number {
  return a.localeCompare(b, undefined, { numeric: true });
}
