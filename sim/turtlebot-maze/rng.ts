/**
 * A seeded PRNG (sfc32, seeded through splitmix32). The same seed gives the same sequence on every
 * platform, which is what makes a simulation run reproducible; Math.random is never used in the sim.
 */
export class Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;
  // Box-Muller makes normals in pairs; the second one waits here.
  #spareNormal: number | undefined;

  constructor(seed: number) {
    if (!Number.isFinite(seed)) throw new RangeError(`rng seed must be a finite number, got ${seed}`);
    let s = Math.trunc(seed) >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = splitmix();
    this.#b = splitmix();
    this.#c = splitmix();
    this.#d = splitmix();
    // sfc32 is weak for its first outputs; discard them as its author recommends.
    for (let i = 0; i < 12; i++) this.#nextUint32();
  }

  #nextUint32(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = ((this.#c << 21) | (this.#c >>> 11)) >>> 0;
    this.#c = (this.#c + t) >>> 0;
    return t;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.#nextUint32() / 4294967296;
  }

  /** Standard normal (mean 0, sigma 1). */
  normal(): number {
    if (this.#spareNormal !== undefined) {
      const n = this.#spareNormal;
      this.#spareNormal = undefined;
      return n;
    }
    // 1 - next() is in (0, 1], so the log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const theta = 2 * Math.PI * this.next();
    this.#spareNormal = r * Math.sin(theta);
    return r * Math.cos(theta);
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`rng.int needs an integer n >= 1, got ${n}`);
    return Math.floor(this.next() * n);
  }
}
