import { describe, expect, it } from 'vitest';
import { ActionChunker } from './action-chunker.ts';
import { TemporalEnsembler } from './temporal-ensembler.ts';

describe('TemporalEnsembler (ACT temporal ensembling)', () => {
  it("gives each timestep the weighted average of every chunk's prediction for it, the oldest weighted most", () => {
    const K = 4;
    const coeff = 0.3;
    const ensembler = new TemporalEnsembler({ chunkSize: K, coeff });
    // Chunk planned at step s predicts, for timestep s + i, the value 10 * s + i (one-element actions).
    const predictions = new Map<number, number[]>();
    const got: number[] = [];
    for (let s = 0; s < 8; s++) {
      const t = ensembler.observationSent();
      expect(t).toBe(s);
      const chunk = Float32Array.from({ length: K }, (_, i) => 10 * s + i);
      chunk.forEach((v, i) => predictions.set(s + i, [...(predictions.get(s + i) ?? []), v]));
      ensembler.receive(t, chunk, 1);
      got.push(ensembler.pop()!.action[0]!);
    }
    // Directly: sum_i w_i x_i / sum_i w_i, w_i = exp(-coeff * i), i = 0 the oldest prediction.
    const want = got.map((_, s) => {
      const xs = predictions.get(s)!;
      const w = xs.map((_, i) => Math.exp(-coeff * i));
      return xs.reduce((a, x, i) => a + x * w[i]!, 0) / w.reduce((a, b) => a + b, 0);
    });
    got.forEach((v, s) => expect(v).toBeCloseTo(want[s]!, 4));
    expect(ensembler.counters).toMatchObject({ chunks: 8, executed: 8, underruns: 0 });
  });

  it('starts over after clear (stale observations) and counts an underrun', () => {
    const ensembler = new TemporalEnsembler({ chunkSize: 3, coeff: 0.01 });
    ensembler.receive(ensembler.observationSent(), Float32Array.from([1, 2, 3]), 1);
    ensembler.pop();
    ensembler.clear();
    expect(ensembler.pop()).toBeUndefined();
    expect(ensembler.counters.underruns).toBe(1);
    ensembler.receive(ensembler.observationSent(), Float32Array.from([7, 8, 9]), 1);
    expect(Array.from(ensembler.pop()!.action)).toEqual([7]);
  });

  it('drops the chunk in flight at reset (a new episode) rather than averaging it into the next', () => {
    const ensembler = new TemporalEnsembler({ chunkSize: 3, coeff: 0.01 });
    const inFlight = ensembler.observationSent();
    ensembler.reset();
    ensembler.receive(inFlight, Float32Array.from([100, 100, 100]), 1);
    expect(ensembler.pop()).toBeUndefined();
    ensembler.receive(ensembler.observationSent(), Float32Array.from([1, 2, 3]), 1);
    expect(Array.from(ensembler.pop()!.action)).toEqual([1]);
  });
});

describe("ActionChunker with n_action_steps (ACT's select_action)", () => {
  it('queues only the first N actions of a chunk and asks for the next chunk when they are spent', () => {
    const chunker = new ActionChunker({ chunkSize: 5, threshold: 0, aggregate: 'latest_only', actionSteps: 2 });
    const popped: number[] = [];
    let chunks = 0;
    for (let tick = 0; tick < 6; tick++) {
      if (chunker.wantsObservation()) {
        const t = chunker.observationSent(true);
        chunker.receive(
          t,
          Float32Array.from({ length: 5 }, (_, i) => 100 * chunks + i),
          1,
        );
        chunks++;
      }
      popped.push(chunker.pop()!.action[0]!);
    }
    expect(popped).toEqual([0, 1, 100, 101, 200, 201]);
    expect(() => new ActionChunker({ chunkSize: 5, actionSteps: 6 })).toThrow(/actionSteps/);
  });
});
