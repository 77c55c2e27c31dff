import { describe, expect, it } from 'vitest';
import { checkedChunk, RemoteFailed } from './chunk-check.ts';

const bytes = (a: Float32Array | Float64Array | BigInt64Array) => new Uint8Array(a.buffer);

function failure(f: () => unknown): RemoteFailed {
  try {
    f();
  } catch (error) {
    if (error instanceof RemoteFailed) return error;
    throw error;
  }
  throw new Error('no failure');
}

describe('a remote chunk, checked', () => {
  it('takes float32 as it is and float64 narrowed, with a batch of one before the declared shape', () => {
    const f32 = Float32Array.from([1, 2, 3, 4, 5, 6]);
    expect(checkedChunk({ dtype: '<f4', shape: [3, 2], bytes: bytes(f32) }, [3, 2])).toEqual(f32);
    const f64 = Float64Array.from([0.1, 0.2, 0.3, 0.4, 0.5, 0.6]);
    expect(checkedChunk({ dtype: 'float64', shape: [1, 3, 2], bytes: bytes(f64) }, [3, 2])).toEqual(
      Float32Array.from(f64),
    );
    // An unaligned view, as a decoded message's bytes are.
    const shifted = new Uint8Array(25);
    shifted.set(bytes(f32), 1);
    expect(checkedChunk({ dtype: '<f4', shape: [3, 2], bytes: shifted.subarray(1) }, [3, 2])).toEqual(f32);
  });

  it('refuses another dtype, a transposed shape, bytes that do not fit it, NaN, and a float64 past float32', () => {
    const six = bytes(new Float32Array(6));
    expect(
      failure(() => checkedChunk({ dtype: '<i8', shape: [3, 2], bytes: bytes(new BigInt64Array(6)) }, [3, 2])).reason,
    ).toBe('dtype');
    expect(failure(() => checkedChunk({ dtype: '>f4', shape: [3, 2], bytes: six }, [3, 2])).reason).toBe('dtype');
    expect(failure(() => checkedChunk({ dtype: '<f4', shape: [2, 3], bytes: six }, [3, 2])).message).toBe(
      'actions of shape [2,3], not the declared [3,2]',
    );
    expect(failure(() => checkedChunk({ dtype: '<f4', shape: [3, 2], bytes: six.subarray(4) }, [3, 2])).reason).toBe(
      'malformed',
    );
    const nan = Float32Array.from([0, 0, 0, Number.NaN, 0, 0]);
    expect(failure(() => checkedChunk({ dtype: '<f4', shape: [3, 2], bytes: bytes(nan) }, [3, 2])).message).toBe(
      'action 1 element 1 is NaN as float32: the chunk is refused',
    );
    const big = Float64Array.from([0, 0, 1e39, 0, 0, 0]);
    expect(failure(() => checkedChunk({ dtype: '<f8', shape: [3, 2], bytes: bytes(big) }, [3, 2])).message).toBe(
      'action 1 element 0 is 1e+39 as float32: the chunk is refused',
    );
  });
});
