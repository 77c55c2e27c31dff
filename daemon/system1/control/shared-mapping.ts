import { closeSync, fstatSync, openSync } from 'node:fs';

const PROT_READ_WRITE = 0x1 | 0x2;
const MAP_SHARED = 0x1;
const F_GETFL = 3;
const F_SETFL = 4;
const O_NONBLOCK = 0o4000;

interface Libc {
  mmap: (addr: null, length: number, prot: number, flags: number, fd: number, offset: number) => unknown;
  fcntl: (fd: number, command: number, ...arg: unknown[]) => number;
  view: (pointer: unknown, length: number) => ArrayBuffer;
  address: (pointer: unknown) => bigint;
  errno: () => number;
}

let libc: Promise<Libc> | undefined;

/** libc's mmap and fcntl through koffi (prebuilt, no compile), loaded once, by a loop process only. */
function loadLibc(): Promise<Libc> {
  libc ??= import('koffi').then(({ default: koffi }) => {
    const c = koffi.load('libc.so.6');
    return {
      mmap: c.func('void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset)'),
      fcntl: c.func('int fcntl(int fd, int cmd, ...)'),
      view: (pointer, length) => koffi.view(pointer, length),
      address: (pointer) => koffi.address(pointer),
      errno: () => koffi.errno(),
    };
  });
  return libc;
}

/**
 * A file of the loop's tmpfs folder mapped into this process (MAP_SHARED), seen as an ArrayBuffer over the very pages
 * the daemon writes with pwrite: nothing is copied to read it, and Atomics work on it as on a SharedArrayBuffer (but
 * for wait and notify). The mapping is never undone, so no view of it can outlive its memory: a loop process maps
 * its files once and they go with it.
 */
export async function mapSharedFile(path: string): Promise<ArrayBuffer> {
  const c = await loadLibc();
  const fd = openSync(path, 'r+');
  try {
    const { size } = fstatSync(fd);
    // Nothing to share (a board of no slots: a policy fed by cameras alone); mmap refuses a length of 0.
    if (size === 0) return new ArrayBuffer(0);
    const pointer = c.mmap(null, size, PROT_READ_WRITE, MAP_SHARED, fd, 0);
    // MAP_FAILED is (void *) -1.
    if (pointer === null || BigInt.asIntN(64, c.address(pointer)) === -1n)
      throw new Error(`mmap of ${path} failed (errno ${c.errno()})`);
    return c.view(pointer, size);
  } finally {
    // The mapping keeps the file; the descriptor is not needed.
    closeSync(fd);
  }
}

/** Makes `fd` non-blocking: a write the reader cannot take yet fails with EAGAIN instead of stalling the writer. */
export async function setNonBlocking(fd: number): Promise<void> {
  const c = await loadLibc();
  const flags = c.fcntl(fd, F_GETFL);
  if (flags < 0 || c.fcntl(fd, F_SETFL, 'int', flags | O_NONBLOCK) < 0)
    throw new Error(`fcntl O_NONBLOCK on fd ${fd} failed (errno ${c.errno()})`);
}
