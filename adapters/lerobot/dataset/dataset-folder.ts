import {
  closeSync,
  constants,
  fstatSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
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
 * A file of a dataset, opened once and checked on its descriptor: what is read through it is what was checked,
 * whatever becomes of its name meanwhile. Callers close it.
 */
export interface DatasetFile {
  /** The path it was opened by. */
  readonly path: string;
  readonly fd: number;
  readonly size: number;
  /** The file's identity (device and inode), whatever its names. */
  readonly id: string;
  /**
   * A path by which this process opens the same file again (/proc/self/fd/N): for a library that takes a path
   * (DuckDB), so that it reads this file and not what the name leads to by then. Valid until close().
   */
  readonly via: string;
  close(): void;
}

/** Opened without blocking (a named pipe opened plainly waits for a writer), and never as a terminal. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

const notAFile = (path: string, stat: Stats, named = ''): string =>
  `${path}${named} is ${fileKind(stat)}, not a file: a dataset's files are regular files; put the file itself there`;

const notAFolder = (path: string, stat: Stats): string =>
  `${path} is ${stat.isFile() ? 'a file' : fileKind(stat)}, not a folder: a dataset's meta/, data/ and videos/ are folders`;

/**
 * A dataset's folder, and the rule every file it names keeps: inside the folder once `..` and symlinks are resolved,
 * a regular file, and no name outside the folder (a hard link). A path that breaks it is refused (UnsafeDatasetError)
 * when it is named or listed; a path that does not exist passes, for its reader to say it is missing. A file is read
 * only through open(), which checks the file it opened rather than its path again, so a name swapped after the first
 * check (for a named pipe, a link out) is refused, never read.
 */
export class DatasetFolder {
  readonly root: string;
  #real: string;
  /** A Hugging Face hub cache snapshot's (`<repo>/snapshots/<revision>`) files link to its repo's blobs/: taken. */
  #blobs: string | undefined;
  #folders = new Map<string, string>();
  #links: Map<string, number> | undefined;

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

  /**
   * Opens `path` (checked already, or not) and checks the file opened: a regular file, inside the folder by the path
   * the kernel gives for it, with no name outside it. `named` says where the path came from, for messages.
   */
  open(path: string, named = ''): DatasetFile {
    let fd: number;
    try {
      fd = openSync(path, OPEN_FLAGS);
    } catch (error) {
      throw new DatasetError(`cannot read ${path}${named}: ${errorText(error)}`);
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new UnsafeDatasetError(notAFile(path, stat, named));
      const via = `/proc/self/fd/${fd}`;
      let real: string;
      try {
        real = readlinkSync(via);
      } catch (error) {
        throw new UnsafeDatasetError(
          `cannot tell where ${path}${named} leads (${errorText(error)}): reading a dataset needs /proc mounted`,
        );
      }
      if (!isInside(this.#real, real) && !(this.#blobs && isInside(this.#blobs, real)))
        throw new UnsafeDatasetError(outside(path, named, real, this.#real));
      if (stat.nlink > 1) this.#checkLinks(path, named, stat);
      return { path, fd, size: stat.size, id: `${stat.dev}:${stat.ino}`, via, close: () => closeSync(fd) };
    } catch (error) {
      closeSync(fd);
      throw error;
    }
  }

  /**
   * Refuses a file with a name outside the folder: a hard link reads what is outside as if the dataset held it. Links
   * within the folder (a dataset deduplicated by a tool such as `hardlink`) are the dataset's own, and taken.
   */
  #checkLinks(path: string, named: string, stat: Stats): void {
    const inside = this.#linksInside().get(`${stat.dev}:${stat.ino}`) ?? 0;
    if (inside >= stat.nlink) return;
    throw new UnsafeDatasetError(
      `${path}${named} is a hard link: the file has ${stat.nlink} names, ${stat.nlink - inside} of them outside the dataset's folder ${this.#real}: ` +
        `a dataset's files are its own; replace the link with a copy (cp FILE FILE.copy && mv FILE.copy FILE)`,
    );
  }

  /** How many names each file with several has in the folder (and the hub's blobs/); walked once, when first asked. */
  #linksInside(): Map<string, number> {
    if (this.#links) return this.#links;
    const links = new Map<string, number>();
    const folders = [this.#real, ...(this.#blobs ? [this.#blobs] : [])];
    for (let dir; (dir = folders.pop()) !== undefined;) {
      for (const entry of readdirSync(dir, { withFileTypes: true })) {
        const path = join(dir, entry.name);
        // Links to folders are not followed: what they lead to is outside, or walked already.
        if (entry.isDirectory()) folders.push(path);
        else if (entry.isFile()) {
          const stat = lstatSync(path);
          if (stat.nlink > 1) links.set(`${stat.dev}:${stat.ino}`, (links.get(`${stat.dev}:${stat.ino}`) ?? 0) + 1);
        }
      }
    }
    return (this.#links = links);
  }

  #checked(path: string, named: string, kind: 'file' | 'folder' = 'file'): string {
    const link = lstatSync(path, { throwIfNoEntry: false });
    const real = link?.isSymbolicLink() ? resolvedPath(path) : join(this.#folderOf(path), basename(path));
    if (!isInside(this.#real, real) && !(this.#blobs && link?.isSymbolicLink() && isInside(this.#blobs, real)))
      throw new UnsafeDatasetError(outside(path, named, real, this.#real));
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

const outside = (path: string, named: string, real: string, folder: string): string =>
  `${path}${named} resolves to ${real}, outside the dataset's folder ${folder} (a symbolic link leads there): ` +
  "a dataset's files are inside its folder; copy the file into the dataset in place of the link (cp -L)";

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
