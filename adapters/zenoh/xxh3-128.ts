/**
 * XXH3-128 with the default secret and seed 0 (xxHash 0.8, its portable scalar code path), as rmw_zenoh hashes
 * an entity's liveliness token into its GID (rmw_zenoh_cpp/src/detail/simplified_xxhash3.cpp). In BigInt:
 * it hashes one token per entity the daemon declares, never a sample.
 */

const M64 = (1n << 64n) - 1n;
const M32 = 0xffffffffn;
const P32_1 = 0x9e3779b1n;
const P32_2 = 0x85ebca77n;
const P32_3 = 0xc2b2ae3dn;
const P64_1 = 0x9e3779b185ebca87n;
const P64_2 = 0xc2b2ae3d27d4eb4fn;
const P64_3 = 0x165667b19e3779f9n;
const P64_4 = 0x85ebca77c2b2ae63n;
const P64_5 = 0x27d4eb2f165667c5n;
const PRIME_MX1 = 0x165667919e3779f9n;
const PRIME_MX2 = 0x9fb21c651e98df25n;

const SECRET = Uint8Array.from(
  Buffer.from(
    'b8fe6c3923a44bbe7c01812cf721ad1cded46de9839097db7240a4a4b7b3671fcb79e64eccc0e578825ad07dccff7221b8084674f743248ee03590e6813a264c' +
      '3c2852bb91c300cb88d0658b1b532ea371644897a20df94e3819ef46a9deacd8a8fa763fe39c343ff9dcbbc7c70b4f1d8a51e04bcdb45931c89f7ec9d9787364' +
      'eac5ac8334d3ebc3c581a0fffa1363eb170ddd51b7f0da49d316552629d4689e2b16be587d47a1fc8ff8b8d17ad031ce45cb3a8f95160428afd7fbcabb4b407e',
    'hex',
  ),
);
const STRIPE = 64;
const ACCS = 8;

export interface Hash128 {
  low: bigint;
  high: bigint;
}

const r64 = (b: Uint8Array, at: number) => new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(at, true);
const r32 = (b: Uint8Array, at: number) =>
  BigInt(new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(at, true));
const mul = (a: bigint, b: bigint) => (a * b) & M64;
const xorshift = (v: bigint, shift: bigint) => v ^ (v >> shift);
const mul128 = (a: bigint, b: bigint): Hash128 => {
  const p = a * b;
  return { low: p & M64, high: (p >> 64n) & M64 };
};
const fold64 = (a: bigint, b: bigint) => {
  const p = mul128(a, b);
  return p.low ^ p.high;
};
const avalanche = (h: bigint) => xorshift(mul(xorshift(h, 37n), PRIME_MX1), 32n);
const avalanche64 = (h: bigint) => {
  h = mul(h ^ (h >> 33n), P64_2);
  h = mul(h ^ (h >> 29n), P64_3);
  return h ^ (h >> 32n);
};
const swap64 = (x: bigint) => {
  const b = new DataView(new ArrayBuffer(8));
  b.setBigUint64(0, x, true);
  return b.getBigUint64(0, false);
};
const mix16 = (input: Uint8Array, at: number, secretAt: number) =>
  fold64(r64(input, at) ^ r64(SECRET, secretAt), r64(input, at + 8) ^ r64(SECRET, secretAt + 8));

function mix32(acc: Hash128, input: Uint8Array, at1: number, at2: number, secretAt: number): Hash128 {
  let { low, high } = acc;
  low = (low + mix16(input, at1, secretAt)) & M64;
  low ^= (r64(input, at2) + r64(input, at2 + 8)) & M64;
  high = (high + mix16(input, at2, secretAt + 16)) & M64;
  high ^= (r64(input, at1) + r64(input, at1 + 8)) & M64;
  return { low, high };
}

function finish(acc: Hash128, len: bigint): Hash128 {
  const low = (acc.low + acc.high) & M64;
  const high = (mul(acc.low, P64_1) + mul(acc.high, P64_4) + mul(len, P64_2)) & M64;
  return { low: avalanche(low), high: (0n - avalanche(high)) & M64 };
}

function upTo16(input: Uint8Array): Hash128 {
  const len = input.length;
  if (len > 8) {
    const flipL = r64(SECRET, 32) ^ r64(SECRET, 40);
    const flipH = r64(SECRET, 48) ^ r64(SECRET, 56);
    const lo = r64(input, 0);
    let hi = r64(input, len - 8);
    const m = mul128(lo ^ hi ^ flipL, P64_1);
    m.low = (m.low + (BigInt(len - 1) << 54n)) & M64;
    hi ^= flipH;
    m.high = (m.high + hi + (hi & M32) * (P32_2 - 1n)) & M64;
    m.low ^= swap64(m.high);
    const h = mul128(m.low, P64_2);
    h.high = (h.high + mul(m.high, P64_2)) & M64;
    return { low: avalanche(h.low), high: avalanche(h.high) };
  }
  if (len >= 4) {
    const keyed = (r32(input, 0) + (r32(input, len - 4) << 32n)) ^ (r64(SECRET, 16) ^ r64(SECRET, 24));
    const m = mul128(keyed, P64_1 + BigInt(len << 2));
    m.high = (m.high + (m.low << 1n)) & M64;
    m.low ^= m.high >> 3n;
    m.low = xorshift(mul(xorshift(m.low, 35n), PRIME_MX2), 28n);
    return { low: m.low, high: avalanche(m.high) };
  }
  if (len > 0) {
    const combinedL = ((input[0]! << 16) | (input[len >> 1]! << 24) | input[len - 1]! | (len << 8)) >>> 0;
    const swapped = Buffer.alloc(4);
    swapped.writeUInt32LE(combinedL);
    const s = swapped.readUInt32BE();
    const combinedH = ((s << 13) | (s >>> 19)) >>> 0;
    return {
      low: avalanche64(BigInt(combinedL) ^ (r32(SECRET, 0) ^ r32(SECRET, 4))),
      high: avalanche64(BigInt(combinedH) ^ (r32(SECRET, 8) ^ r32(SECRET, 12))),
    };
  }
  return { low: avalanche64(r64(SECRET, 64) ^ r64(SECRET, 72)), high: avalanche64(r64(SECRET, 80) ^ r64(SECRET, 88)) };
}

function upTo128(input: Uint8Array): Hash128 {
  const len = input.length;
  let acc: Hash128 = { low: mul(BigInt(len), P64_1), high: 0n };
  if (len > 32) {
    if (len > 64) {
      if (len > 96) acc = mix32(acc, input, 48, len - 64, 96);
      acc = mix32(acc, input, 32, len - 48, 64);
    }
    acc = mix32(acc, input, 16, len - 32, 32);
  }
  return finish(mix32(acc, input, 0, len - 16, 0), BigInt(len));
}

function upTo240(input: Uint8Array): Hash128 {
  const len = input.length;
  let acc: Hash128 = { low: mul(BigInt(len), P64_1), high: 0n };
  for (let i = 32; i < 160; i += 32) acc = mix32(acc, input, i - 32, i - 16, i - 32);
  acc = { low: avalanche(acc.low), high: avalanche(acc.high) };
  // `<=` repeats the last 32 bytes when len % 32 is 0: so the reference does, for a stable hash.
  for (let i = 160; i <= len; i += 32) acc = mix32(acc, input, i - 32, i - 16, 3 + i - 160);
  return finish(mix32(acc, input, len - 16, len - 32, 136 - 17 - 16), BigInt(len));
}

function accumulate(acc: bigint[], input: Uint8Array, at: number, secretAt: number): void {
  for (let lane = 0; lane < ACCS; lane++) {
    const value = r64(input, at + lane * 8);
    const key = value ^ r64(SECRET, secretAt + lane * 8);
    acc[lane ^ 1] = (acc[lane ^ 1]! + value) & M64;
    acc[lane] = ((key & M32) * (key >> 32n) + acc[lane]!) & M64;
  }
}

function mergeAccs(acc: bigint[], secretAt: number, start: bigint): bigint {
  let result = start;
  for (let i = 0; i < 4; i++)
    result =
      (result +
        fold64(acc[2 * i]! ^ r64(SECRET, secretAt + 16 * i), acc[2 * i + 1]! ^ r64(SECRET, secretAt + 16 * i + 8))) &
      M64;
  return avalanche(result);
}

function long(input: Uint8Array): Hash128 {
  const len = input.length;
  const acc = [P32_3, P64_1, P64_2, P64_3, P64_4, P32_2, P64_5, P32_1];
  const stripesPerBlock = (SECRET.length - STRIPE) / 8;
  const blockLen = STRIPE * stripesPerBlock;
  const blocks = Math.floor((len - 1) / blockLen);
  for (let n = 0; n < blocks; n++) {
    for (let s = 0; s < stripesPerBlock; s++) accumulate(acc, input, n * blockLen + s * STRIPE, s * 8);
    for (let lane = 0; lane < ACCS; lane++) {
      const v = xorshift(acc[lane]!, 47n) ^ r64(SECRET, SECRET.length - STRIPE + lane * 8);
      acc[lane] = mul(v, P32_1);
    }
  }
  const stripes = Math.floor((len - 1 - blockLen * blocks) / STRIPE);
  for (let s = 0; s < stripes; s++) accumulate(acc, input, blocks * blockLen + s * STRIPE, s * 8);
  accumulate(acc, input, len - STRIPE, SECRET.length - STRIPE - 7);
  const l = BigInt(len);
  return {
    low: mergeAccs(acc, 11, mul(l, P64_1)),
    high: mergeAccs(acc, SECRET.length - 64 - 11, ~mul(l, P64_2) & M64),
  };
}

export function xxh3_128(input: Uint8Array): Hash128 {
  if (input.length <= 16) return upTo16(input);
  if (input.length <= 128) return upTo128(input);
  if (input.length <= 240) return upTo240(input);
  return long(input);
}
