import { describe, expect, it } from 'vitest';
import { borrowedZBytes } from '../../adapters/zenoh/borrowed-bytes.ts';
import { loadZenoh, type ZenohModule } from '../../adapters/zenoh/zenoh-runtime.ts';

describe("a put's payload handed to zenoh-ts", () => {
  it('is read where it lies: the ZBytes a publisher makes of it holds the same bytes, not a copy', async () => {
    const zenoh = await loadZenoh();
    const payload = new Uint8Array(1 << 20).fill(7);
    const bytes = borrowedZBytes(zenoh, payload);
    expect(bytes).toBeInstanceOf(zenoh.ZBytes);
    // Publisher.put wraps what it is given in `new ZBytes(...)` before it serializes it.
    expect(new zenoh.ZBytes(bytes).toBytes()).toBe(payload);
    // zenoh-ts's own wrapping of a Uint8Array copies it: what borrowedZBytes saves.
    expect(new zenoh.ZBytes(payload).toBytes()).not.toBe(payload);
  });

  it('is handed over as it is (zenoh-ts then copies it) where ZBytes keeps its bytes under another name', () => {
    class ZBytes {
      #bytes: Uint8Array;
      constructor(bytes: Uint8Array) {
        this.#bytes = bytes.slice();
      }
      toBytes = () => this.#bytes;
      len = () => this.#bytes.length;
    }
    const payload = new Uint8Array([1, 2, 3]);
    expect(borrowedZBytes({ ZBytes } as unknown as ZenohModule, payload)).toBe(payload);
  });
});
