import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';
import { errorText } from '../../../daemon/util/index.ts';
import { pathTooLong, shownName } from './dataset-limits.ts';
import { DatasetError } from './dataset-types.ts';

/**
 * A dataset that names what a reader must not touch: a file outside its folder, a file that is not a regular file (a
 * named pipe blocks its reader for ever), a frame larger than any camera's. The dataset is refused whole, never read
 * past with a warning.
 */
export class UnsafeDatasetError extends DatasetError {
  override name = 'UnsafeDatasetError';
}

/** Whether `path` is `base` or under it; both absolute and normalized (as join and resolve give them). */
export function isInside(base: string, path: string): boolean {
  return path === base || path.startsWith(base.endsWith(sep) ? base : `${base}${sep}`);
}

/** What a file that is not a regular file is, in words. */
export function fileKind(stat: Stats): string {
  if (stat.isFIFO()) return 'a named pipe';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}

/**
 * Opens a regular file for reading without blocking on what is not one (a named pipe opened plainly waits for a
 * writer), and refuses it unless it is a regular file; the caller closes the descriptor.
 */
export function openRegularFile(path: string): number {
  const fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw new UnsafeDatasetError(notAFile(path, stat));
    return fd;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

const notAFile = (path: string, stat: Stats, named = ''): string =>
  `${path}${named} is ${fileKind(stat)}, not a file: a dataset's files are regular files; put the file itself there`;

const notAFolder = (path: string, stat: Stats): string =>
  `${path} is ${stat.isFile() ? 'a file' : fileKind(stat)}, not a folder: a dataset's meta/, data/ and videos/ are folders`;

/**
 * A dataset's folder, and the rule every path it names keeps: inside the folder once `..` and symlinks are resolved,
 * and a regular file. A path that breaks it is refused (UnsafeDatasetError) before anything opens it; a path that does
 * not exist passes, for its reader to say it is missing. A file swapped after the check is the reader's to refuse:
 * JSON is opened with openRegularFile, and ffmpeg's runs have a time limit.
 */
export class DatasetFolder {
  readonly root: string;
  #real: string;
  /** A Hugging Face hub cache snapshot's (`<repo>/snapshots/<revision>`) files link to its repo's blobs/: taken. */
  #blobs: string | undefined;
  #folders = new Map<string, string>();

  constructor(root: string) {
    this.root = resolve(root);
    try {
      this.#real = realpathSync.native(root);
    } catch (error) {
      throw new DatasetError(`cannot read the dataset ${root}: ${errorText(error)}`);
    }
    const repo = dirname(dirname(this.#real));
    if (basename(dirname(this.#real)) === 'snapshots' && statSync(join(repo, 'blobs'), { throwIfNoEntry: false }))
      this.#blobs = join(repo, 'blobs');
  }

  /**
   * `path` as `key` of meta/info.json names it, relative to the folder (a template filled in); `what` says for what
   * ("observation.images.front episode 3"). Returns the absolute path.
   */
  named(path: string, key: string, what: string): string {
    const full = join(this.root, path);
    const tooLong = pathTooLong(full);
    if (tooLong)
      throw new DatasetError(
        `${join(this.root, 'meta', 'info.json')}: ${key} names ${shownName(path)} for ${what}: no file can have that path ` +
          `(it has ${tooLong}); fix ${key} in meta/info.json`,
      );
    const problem = isAbsolute(path) ? 'an absolute path' : isInside(this.root, full) ? '' : 'outside the folder';
    if (problem)
      throw new UnsafeDatasetError(
        `${join(this.root, 'meta', 'info.json')}: ${key} names ${JSON.stringify(path)} for ${what}, ${problem}: a dataset's files are inside its folder (${this.root}); ` +
          `fix ${key} in meta/info.json to a path inside it, or copy the file into the dataset`,
      );
    return this.#checked(full, ` (${key} in meta/info.json)`);
  }

  /** A file found in the folder: listed, or at its place in meta/. Returns `path`. */
  file(path: string): string {
    return this.#checked(path, '');
  }

  /** Files under `sub` (recursively) whose name ends with `suffix`, sorted, each checked. */
  list(sub: string, suffix: string): string[] {
    const dir = join(this.root, sub);
    if (!statSync(dir, { throwIfNoEntry: false })) return [];
    this.#checked(dir, '', 'folder');
    const out: string[] = [];
    const walk = (d: string): void => {
      for (const entry of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, entry.name);
        if (entry.isDirectory()) walk(p);
        else if (entry.name.endsWith(suffix)) out.push(this.file(p));
      }
    };
    walk(dir);
    return out.sort();
  }

  #checked(path: string, named: string, kind: 'file' | 'folder' = 'file'): string {
    const link = lstatSync(path, { throwIfNoEntry: false });
    const real = link?.isSymbolicLink() ? resolvedPath(path) : join(this.#folderOf(path), basename(path));
    if (!isInside(this.#real, real) && !(this.#blobs && link?.isSymbolicLink() && isInside(this.#blobs, real)))
      throw new UnsafeDatasetError(
        `${path}${named} resolves to ${real}, outside the dataset's folder ${this.#real} (a symbolic link leads there): ` +
          `a dataset's files are inside its folder; copy the file into the dataset in place of the link (cp -L)`,
      );
    const stat = link?.isSymbolicLink() ? statSync(path, { throwIfNoEntry: false }) : link;
    if (stat && kind === 'file' && !stat.isFile()) throw new UnsafeDatasetError(notAFile(path, stat, named));
    if (stat && kind === 'folder' && !stat.isDirectory()) throw new UnsafeDatasetError(notAFolder(path, stat));
    return path;
  }

  /** The folder `path` is in, resolved; once per folder (a v2.1 dataset names a file per episode, in a few folders). */
  #folderOf(path: string): string {
    const dir = dirname(path);
    let real = this.#folders.get(dir);
    if (real === undefined) this.#folders.set(dir, (real = resolvedPath(dir)));
    return real;
  }
}

/** `path` with every symbolic link resolved, as far as it exists (the rest as it is). */
function resolvedPath(path: string): string {
  const rest: string[] = [];
  for (let head = path; ;) {
    try {
      return join(realpathSync.native(head), ...rest);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR')
        throw new UnsafeDatasetError(`cannot resolve ${path}: ${errorText(error)}`);
      if (dirname(head) === head) return path;
      rest.unshift(basename(head));
      head = dirname(head);
    }
  }
}
