import { describe, expect, it } from 'vitest';
import { ActionChunker } from './action-chunker.ts';
import { aggregator } from './aggregators.ts';

const chunk = (...values: number[]) => Float32Array.from(values);
const popAll = (c: ActionChunker) => {
  const out: [number, number][] = [];
  for (let a = c.pop(); a; a = c.pop()) out.push([a.timestep, a.action[0]!]);
  return out;
};

describe('aggregators (LeRobot async inference weights)', () => {
  it('merge an old and a new action as LeRobot does', () => {
    const old = chunk(1, 10);
    const next = chunk(3, 20);
    expect(Array.from(aggregator('weighted_average')(old, next))).toEqual([
      Math.fround(0.3 * 1 + 0.7 * 3),
      Math.fround(0.3 * 10 + 0.7 * 20),
    ]);
    expect(Array.from(aggregator('average')(old, next))).toEqual([2, 15]);
    expect(Array.from(aggregator('conservative')(old, next))).toEqual([
      Math.fround(0.7 * 1 + 0.3 * 3),
      Math.fround(0.7 * 10 + 0.3 * 20),
    ]);
    expect(Array.from(aggregator('latest_only')(old, next))).toEqual([3, 20]);
  });
});

describe('ActionChunker', () => {
  it('asks for a chunk when the queue falls to the threshold fraction of K', () => {
    const c = new ActionChunker({ chunkSize: 4, threshold: 0.5 });
    expect(c.wantsObservation()).toBe(true);
    expect(c.observationSent()).toBe(0);
    expect(c.wantsObservation()).toBe(false); // a chunk is awaited
    c.receive(0, chunk(0, 1, 2, 3), 1);
    // Before any action ran (latest -1), timestep 0 is still in the future: all four are queued.
    expect(c.queueLength).toBe(4);
    expect(c.wantsObservation()).toBe(false); // 4/4 > 0.5
    c.pop();
    expect(c.wantsObservation()).toBe(false); // 3/4
    c.pop();
    expect(c.wantsObservation()).toBe(true); // 2/4 <= 0.5
  });

  it('drops actions already executed and merges overlaps with weighted_average (0.3 old, 0.7 new)', () => {
    const c = new ActionChunker({ chunkSize: 4 });
    c.observationSent();
    c.receive(0, chunk(10, 11, 12, 13), 1);
    expect(c.pop()!.timestep).toBe(0);
    expect(c.pop()!.timestep).toBe(1);
    // Observation stamped with the latest executed timestep (1): the chunk covers 1..4.
    expect(c.observationSent()).toBe(1);
    c.receive(1, chunk(100, 200, 300, 400), 1);
    // 1 is done (late, dropped); 2 and 3 overlap (merged); 4 is new.
    expect(c.counters.late).toBe(1);
    expect(c.counters.merged).toBe(2);
    expect(popAll(c)).toEqual([
      [2, Math.fround(0.3 * 12 + 0.7 * 200)],
      [3, Math.fround(0.3 * 13 + 0.7 * 300)],
      [4, 400],
    ]);
  });

  it('uses the configured aggregate and counts underruns', () => {
    const c = new ActionChunker({ chunkSize: 2, aggregate: 'conservative' });
    expect(c.pop()).toBeUndefined();
    expect(c.counters.underruns).toBe(1);
    c.observationSent();
    c.receive(0, chunk(1, 2, 3, 4), 2); // two actions of dim 2
    expect(Array.from(c.pop()!.action)).toEqual([1, 2]);
    c.observationSent();
    c.receive(0, chunk(9, 9, 5, 6), 2); // timestep 0 late; 1 overlaps [3, 4]
    expect(Array.from(c.pop()!.action)).toEqual([Math.fround(0.7 * 3 + 0.3 * 5), Math.fround(0.7 * 4 + 0.3 * 6)]);
    expect(c.pop()).toBeUndefined();
    expect(c.counters.underruns).toBe(2);
  });

  it('rebuilds the queue from the incoming chunk, as LeRobot does', () => {
    const c = new ActionChunker({ chunkSize: 4, threshold: 1 });
    c.observationSent();
    c.receive(0, chunk(0, 1, 2, 3), 1);
    c.pop(); // ran 0
    c.observationSent();
    c.receive(0, chunk(7, 8), 1); // covers 0 (late) and 1 only
    expect(popAll(c).map(([t]) => t)).toEqual([1]);
  });

  it('rejects a chunk that is not whole actions', () => {
    const c = new ActionChunker({ chunkSize: 2 });
    expect(() => c.receive(0, chunk(1, 2, 3), 2)).toThrow(/whole number/);
  });

  it('drops its queue and the chunk in flight at reset (a new episode), then takes the next chunk', () => {
    const c = new ActionChunker({ chunkSize: 4, threshold: 0.5 });
    c.receive(c.observationSent(), chunk(0, 1, 2, 3), 1);
    c.pop();
    c.pop();
    const inFlight = c.observationSent(); // planned in the episode that is ending
    c.reset();
    expect(c.pop()).toBeUndefined();
    expect(c.wantsObservation()).toBe(false); // the old plan is still on its way
    c.receive(inFlight, chunk(9, 9, 9, 9), 1);
    expect(c.queueLength).toBe(0);
    expect(c.counters.chunks).toBe(1);
    expect(c.wantsObservation()).toBe(true);
    c.receive(c.observationSent(), chunk(5, 6, 7, 8), 1);
    expect(popAll(c).map(([, v]) => v)).toEqual([6, 7, 8]);
  });

  it('after a reset with nothing in flight, or whose request failed, takes the next chunk whole', () => {
    const c = new ActionChunker({ chunkSize: 2, threshold: 0.5 });
    c.reset();
    c.receive(c.observationSent(), chunk(1, 2), 1);
    expect(c.queueLength).toBe(2);
    popAll(c);
    c.observationSent();
    c.reset();
    c.observationFailed();
    c.receive(c.observationSent(), chunk(3, 4), 1);
    expect(popAll(c).map(([, v]) => v)).toEqual([4]);
  });
});
