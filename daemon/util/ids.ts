import { randomFillSync } from 'node:crypto';

/**
 * UUIDv7 (RFC 9562): 48 bits of Unix ms, then a 12-bit counter that keeps ids made in the same ms in
 * order (method 1 of section 6.2), then 62 random bits. Time-sortable, so ids in logs and tables sort by
 * creation. Random bytes come from a pool refilled 4 KiB at a time: asking the CSPRNG for 8 bytes per id
 * costs more than everything else here.
 */
const POOL = Buffer.allocUnsafe(4096);
let poolOffset = POOL.length;
let lastMs = -1;
let counter = 0;

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
/** The counter's 12 bits as three hex digits. */
const HEX3: string[] = Array.from({ length: 4096 }, (_, i) => i.toString(16).padStart(3, '0'));

function randomBytes(n: number): number {
  if (poolOffset + n > POOL.length) {
    randomFillSync(POOL);
    poolOffset = 0;
  }
  const at = poolOffset;
  poolOffset += n;
  return at;
}

// At module level: a named closure inside newId would cost a defineProperty per id under tsx (keepNames).
function h(byte: number): string {
  return HEX[byte]!;
}

/** The first 15 characters of every id made in `lastMs` (its time and the version digit), made once per ms. */
let prefix = '';

export function newId(): string {
  const ms = Date.now();
  if (ms > lastMs) {
    lastMs = ms;
    // A random start in the lower half leaves room for 2048 ids in the same ms.
    counter = POOL[randomBytes(1)]! & 0x7ff;
    prefix = timePrefix(ms);
  } else {
    // The clock stepped back or this ms is busy: keep order rather than follow the clock.
    counter++;
    if (counter > 0xfff) {
      // Counter exhausted: borrow the next ms, as the RFC allows.
      prefix = timePrefix(++lastMs);
      counter = 0;
    }
  }
  const r = randomBytes(8);
  return (
    prefix +
    HEX3[counter]! +
    '-' +
    h(0x80 | (POOL[r]! & 0x3f)) +
    h(POOL[r + 1]!) +
    '-' +
    h(POOL[r + 2]!) +
    h(POOL[r + 3]!) +
    h(POOL[r + 4]!) +
    h(POOL[r + 5]!) +
    h(POOL[r + 6]!) +
    h(POOL[r + 7]!)
  );
}

/** `tttttttt-tttt-7`: 48 bits of ms, then the version digit that starts the counter's field. */
function timePrefix(t: number): string {
  return (
    h(Math.floor(t / 2 ** 40) & 0xff) +
    h(Math.floor(t / 2 ** 32) & 0xff) +
    h((t >>> 24) & 0xff) +
    h((t >>> 16) & 0xff) +
    '-' +
    h((t >>> 8) & 0xff) +
    h(t & 0xff) +
    '-7'
  );
}

/** The ms timestamp inside a UUIDv7. */
export function uuidv7Time(id: string): number {
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
