import { describe, expect, it } from 'vitest';
import { MinHeap } from './min-heap.ts';

describe('MinHeap', () => {
  it('pops items in key order, growing past its capacity', () => {
    const heap = new MinHeap(2);
    const keys = [5, 3, 9, 1, 7, 3.5, 0, 8, 2, 6];
    keys.forEach((k, i) => heap.push(i, k));
    const out: number[] = [];
    while (heap.size > 0) out.push(keys[heap.pop()]!);
    expect(out).toEqual([...keys].sort((a, b) => a - b));
    expect(heap.pop()).toBe(-1);
  });
});
