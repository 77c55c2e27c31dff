import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';

/** What a Git LFS pointer file says of the file it stands for. */
export interface LfsPointer {
  oid: string;
  size: number;
}

const HEADER = 'version https://git-lfs.github.com/spec/v1\n';
/** A pointer is a few lines; git-lfs refuses to read one over 1024 bytes as a pointer. */
const MAX_POINTER_BYTES = 1024;

/**
 * The Git LFS pointer `path` is, or undefined when it is a file of its own. A repository cloned without
 * `git lfs` (a Hugging Face dataset, a model zoo) holds these small text files in place of the data.
 */
export function readLfsPointer(path: string): LfsPointer | undefined {
  let fd: number;
  try {
    // Only a small regular file is opened (a device's open may act), and without blocking, its kind checked again on
    // the descriptor: a named pipe put in its place after the stat blocked a plain open for ever.
    const stat = statSync(path);
    if (!stat.isFile() || stat.size < HEADER.length || stat.size > MAX_POINTER_BYTES) return undefined;
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch {
    return undefined;
  }
  let buf: Buffer;
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() || stat.size < HEADER.length || stat.size > MAX_POINTER_BYTES) return undefined;
    buf = Buffer.alloc(stat.size);
    readSync(fd, buf, 0, stat.size, 0);
  } finally {
    closeSync(fd);
  }
  const text = buf.toString('utf8');
  if (!text.startsWith(HEADER)) return undefined;
  const oid = /^oid (\S+)$/m.exec(text)?.[1] ?? 'unknown';
  return { oid, size: Number(/^size (\d+)$/m.exec(text)?.[1] ?? NaN) };
}

/** Says that `files` (one or more) are Git LFS pointers, and what to do, for an error or a warning. */
export function lfsPointerMessage(files: readonly string[], what: string): string {
  const first = files[0]!;
  const pointer = readLfsPointer(first);
  const size = pointer && Number.isFinite(pointer.size) ? `, ${pointer.size} bytes not downloaded` : '';
  const which =
    files.length === 1
      ? `${first} is a Git LFS pointer`
      : `${files.length} files are Git LFS pointers (first: ${first})`;
  return `${which}, not the ${what}${size}: the repository was cloned without its LFS files; run \`git lfs pull\` in it`;
}
