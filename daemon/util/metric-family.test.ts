import { describe, expect, it } from 'vitest';
import { counter, counterBy, gauge, gaugeBy } from './metric-family.ts';

describe('metric families', () => {
  it('gives one unlabelled sample for gauge and counter', () => {
    expect(gauge('auraison_x', 'X now.', 3)).toEqual({
      name: 'auraison_x',
      help: 'X now.',
      type: 'gauge',
      samples: [{ value: 3 }],
    });
    expect(counter('auraison_x_total', 'X so far.', 0).samples).toEqual([{ value: 0 }]);
  });

  it("labels one sample per key, in a Map's order and in a record's", () => {
    const byStatus = new Map([
      ['running', 2],
      ['failed', 0],
    ]);
    expect(gaugeBy('auraison_runs', 'Runs by status.', 'status', byStatus)).toEqual({
      name: 'auraison_runs',
      help: 'Runs by status.',
      type: 'gauge',
      samples: [
        { labels: { status: 'running' }, value: 2 },
        { labels: { status: 'failed' }, value: 0 },
      ],
    });
    const family = counterBy('auraison_drops_total', 'Drops by topic.', 'topic', { '/scan': 4, '/odom': 1 });
    expect(family.type).toBe('counter');
    expect(family.samples).toEqual([
      { labels: { topic: '/scan' }, value: 4 },
      { labels: { topic: '/odom' }, value: 1 },
    ]);
  });

  it('has no sample where there is no key', () => {
    expect(counterBy('auraison_drops_total', 'Drops by topic.', 'topic', {}).samples).toEqual([]);
    expect(gaugeBy('auraison_runs', 'Runs by status.', 'status', new Map()).samples).toEqual([]);
  });
});
