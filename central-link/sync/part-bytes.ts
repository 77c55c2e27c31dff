import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import type { ClientRequest } from 'node:http';

/** The file ended before the part's last byte: it changed or went since it was offered. */
export class FileGone extends Error {}

/** Big chunks are fast (1 MiB: about curl's speed on loopback); a slow link gets small ones, so it sends evenly. */
export function chunkFor(bytesPerS: number): number {
  if (bytesPerS === 0) return 1024 * 1024;
  let c = 64 * 1024;
  while (c < 1024 * 1024 && c * 2 <= bytesPerS / 10) c *= 2;
  return c;
}

/** A few chunk buffers, reused once the socket has taken their bytes: memory stays flat, no garbage per chunk. */
const RING = 4;

/** Writes the part's bytes from disk, each chunk budgeted first, reading ahead while earlier chunks are sent. */
export async function writeRange(
  fh: FileHandle,
  part: { start: number; end: number },
  req: ClientRequest,
  answered: () => boolean,
  o: { chunkBytes: number; before: (n: number) => Promise<void>; after: (n: number) => void; path: string },
): Promise<void> {
  const bufs = Array.from({ length: RING }, () => Buffer.allocUnsafe(o.chunkBytes));
  const sent: Promise<void>[] = Array.from({ length: RING }, () => Promise.resolve());
  for (let pos = part.start, i = 0; pos < part.end && !answered(); i = (i + 1) % RING) {
    const n = Math.min(o.chunkBytes, part.end - pos);
    await sent[i]; // the socket is done with this buffer
    await o.before(n);
    const { bytesRead } = await fh.read(bufs[i]!, 0, n, pos);
    if (bytesRead < n) throw new FileGone(`${o.path} ended at byte ${pos + bytesRead}, before ${part.end}`);
    const written = new Promise<void>((resolve, reject) =>
      req.write(bufs[i]!.subarray(0, n), (e) => (e ? reject(e) : resolve())),
    );
    written.catch(() => {}); // the request's own 'error' rejects the PUT
    sent[i] = written;
    pos += n;
    o.after(n);
  }
  await Promise.all(sent);
}

/** The part's Content-MD5 (base64), read from disk in a pass of its own. */
export async function md5OfRange(path: string, start: number, end: number, signal?: AbortSignal): Promise<string> {
  const hash = createHash('md5');
  const fh = await open(path, 'r');
  try {
    const buf = Buffer.allocUnsafe(1024 * 1024);
    for (let pos = start; pos < end;) {
      signal?.throwIfAborted();
      const n = Math.min(buf.length, end - pos);
      const { bytesRead } = await fh.read(buf, 0, n, pos);
      if (bytesRead === 0) throw new FileGone(`${path} ended at byte ${pos}, before ${end}`);
      hash.update(buf.subarray(0, bytesRead));
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('base64');
}
