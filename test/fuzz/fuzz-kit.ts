import { relative } from 'node:path';
import { expect } from 'vitest';
import { seededRandom } from '../../daemon/util/seeded-random.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * TEST ONLY. A small seeded fuzzer for what peers send the daemon. Case `i` of seed `s` draws from its own
 * generator (seeded from both), so one case re-runs alone: a failure names the seed, the case and a preview of
 * the input, and `FUZZ_SEED=<s> FUZZ_CASE=<i>` runs just that case. Each target's seed is fixed in its test
 * (FUZZ_SEED overrides it), so a run is deterministic and a failure reproduces.
 */
export class Gen {
  readonly #next: () => number;
  constructor(seed: number) {
    this.#next = seededRandom(seed);
  }

  /** [0, 1). */
  float(): number {
    return this.#next();
  }

  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.#next() * n);
  }

  bool(p = 0.5): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }

  /** A 32-bit value a length field might hold: edges, near-edges and random. */
  u32(): number {
    return this.pick([
      0,
      1,
      2,
      3,
      4,
      7,
      8,
      255,
      256,
      0x7fff,
      0xffff,
      0x10000,
      0x7fffffff,
      0x80000000,
      0xfffffffe,
      0xffffffff,
      this.int(64),
      this.int(2 ** 32),
    ]);
  }

  /** A number JSON or a header might carry: edges of integers, floats and the double range. */
  number(): number {
    return this.pick([
      0,
      -0,
      1,
      -1,
      0.5,
      2 ** 31,
      2 ** 32,
      2 ** 53,
      2 ** 53 + 2,
      -(2 ** 53),
      1e308,
      -1e308,
      5e-324,
      3.4028235e38,
      3.5e38,
      this.int(1000),
      this.float() * 1e6 - 5e5,
    ]);
  }

  /** A string with the unicode a parser or an error message may trip on. */
  string(): string {
    return this.pick([
      '',
      'a',
      'obs',
      '__proto__',
      'constructor',
      'prototype',
      'toString',
      'hasOwnProperty',
      '\u0000',
      '\ud800', // a lone surrogate
      '\udfff\ud800',
      '\u202e\u2066', // bidi overrides
      '\ufeff',
      '😀'.repeat(3),
      'e\u0301', // combining accent
      '%s%n%x',
      '${x}',
      '\\',
      '"',
      '</script>',
      'x'.repeat(this.pick([100, 5000])),
      String.fromCharCode(...Array.from({ length: 8 }, () => this.int(0x10000))),
    ]);
  }

  /** A random JSON-like value of at most `depth` levels, with the keys that pollute prototypes among its keys. */
  json(depth = 4): unknown {
    const kind = depth <= 0 ? this.int(4) : this.int(7);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return this.bool();
      case 2:
        return this.number();
      case 3:
        return this.string();
      case 4:
        return Array.from({ length: this.int(5) }, () => this.json(depth - 1));
      default: {
        const out: Record<string, unknown> = {};
        for (let i = this.int(5); i > 0; i--) out[this.string()] = this.json(depth - 1);
        return out;
      }
    }
  }

  /**
   * JSON text that JSON.stringify cannot make: deep nesting (the parser is iterative, but whatever walks the
   * value after it may recurse), numbers past the double range, duplicate and prototype keys, lone surrogates.
   */
  jsonText(): string {
    const n = this.pick([100, 1000, 1000, 100_000]);
    switch (this.int(8)) {
      case 0:
        return `${'['.repeat(n)}${']'.repeat(n)}`;
      case 1:
        return `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;
      case 2:
        return this.pick([
          '1e309',
          '-1e309',
          '1e-400',
          '123456789012345678901234567890',
          '-0',
          '0.0000000000000000000000001',
        ]);
      case 3:
        return '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}';
      case 4:
        return '{"a":1,"a":2,"a":{"b":[]}}';
      case 5:
        return '"\\ud800\\udc00\\ud800"';
      case 6:
        return `[${Array.from({ length: n }, () => '0').join(',')}]`;
      default:
        return JSON.stringify(this.json());
    }
  }

  /** `bytes` damaged one of several ways: cut, bits flipped, a uint32 overwritten, bytes inserted or dropped. */
  mutate(bytes: Uint8Array): Uint8Array {
    const out = Uint8Array.from(bytes);
    switch (this.int(6)) {
      case 0:
        return out.slice(0, this.int(out.length + 1));
      case 1:
        for (let i = 1 + this.int(4); i > 0 && out.length > 0; i--) out[this.int(out.length)]! ^= 1 << this.int(8);
        return out;
      case 2: {
        if (out.length < 4) return out;
        const at = this.int(out.length - 3);
        new DataView(out.buffer).setUint32(at, this.u32(), this.bool());
        return out;
      }
      case 3: {
        const at = this.int(out.length + 1);
        const extra = this.bytes(1 + this.int(16));
        const grown = new Uint8Array(out.length + extra.length);
        grown.set(out.subarray(0, at));
        grown.set(extra, at);
        grown.set(out.subarray(at), at + extra.length);
        return grown;
      }
      case 4: {
        const at = this.int(out.length + 1);
        const rest = out.subarray(Math.min(out.length, at + 1 + this.int(8)));
        const shrunk = new Uint8Array(at + rest.length);
        shrunk.set(out.subarray(0, at));
        shrunk.set(rest, at);
        return shrunk;
      }
      default:
        return this.bytes(this.int(64));
    }
  }
}

/** A single case is being re-run (FUZZ_CASE): tests skip what they assert over all the cases. */
export const replaying = process.env.FUZZ_CASE !== undefined;

export interface FuzzOptions {
  seed: number;
  cases: number;
}

/** What a case ran on, short: its first bytes in hex, or its first characters. */
export function preview(input: unknown): string {
  if (input instanceof Uint8Array)
    return `${input.byteLength} bytes: ${Buffer.from(input.subarray(0, 96)).toString('hex')}${input.byteLength > 96 ? '...' : ''}`;
  const text =
    typeof input === 'string'
      ? input
      : (() => {
          try {
            return JSON.stringify(input) ?? String(input);
          } catch {
            return String(input);
          }
        })();
  return `${text.length} chars: ${text.slice(0, 300)}${text.length > 300 ? '...' : ''}`;
}

/**
 * Runs `cases` cases of `check`, each with its own Gen; stops at the first failure with an error naming the
 * seed, the case, how to re-run it, and the input the case recorded with `note`. Returns how many ran.
 */
export async function fuzz(
  name: string,
  options: FuzzOptions,
  check: (gen: Gen, note: (input: unknown) => void) => void | Promise<void>,
): Promise<number> {
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : options.seed;
  const only = process.env.FUZZ_CASE ? Number(process.env.FUZZ_CASE) : undefined;
  const first = only ?? 0;
  const last = only ?? options.cases - 1;
  for (let i = first; i <= last; i++) {
    let input: unknown = '(none recorded)';
    try {
      await check(new Gen(caseSeed(seed, i)), (value) => (input = value));
    } catch (error) {
      const message = errorText(error);
      const { testPath, currentTestName } = expect.getState();
      const file = testPath ? relative(process.cwd(), testPath) : 'test/fuzz';
      const test = currentTestName ? ` -t ${JSON.stringify(currentTestName.split(' > ').at(-1))}` : '';
      throw new Error(
        `fuzz ${name}: case ${i} of seed ${seed} failed: ${message}\ninput: ${preview(input)}\nre-run it alone: FUZZ_SEED=${seed} FUZZ_CASE=${i} npx vitest run ${file}${test}`,
        { cause: error },
      );
    }
  }
  return last - first + 1;
}

function caseSeed(seed: number, i: number): number {
  return (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;
}
