import { describe, expect, it } from 'vitest';
import { renderPrometheus } from './prometheus.ts';

describe('renderPrometheus', () => {
  it('escapes label values, merges families of the same name, and closes histograms with +Inf', () => {
    const text = renderPrometheus([
      {
        name: 'auraison_x_total',
        help: 'X.\nSecond line',
        type: 'counter',
        samples: [{ labels: { topic: '/a "quoted"\\path\n' }, value: 3 }],
      },
      { name: 'auraison_x_total', help: 'ignored', type: 'counter', samples: [{ labels: { topic: '/b' }, value: 1 }] },
      {
        name: 'auraison_lat_seconds',
        help: 'Latency.',
        type: 'histogram',
        samples: [],
        histograms: [
          {
            labels: { loop: 'base' },
            buckets: [
              { le: 0.001, count: 2 },
              { le: 0.01, count: 5 },
            ],
            sum: 0.02,
            count: 6,
          },
        ],
      },
      {
        name: 'auraison_g',
        help: 'G.',
        type: 'gauge',
        samples: [{ value: NaN }, { labels: { 'bad-name': 'v' }, value: Infinity }],
      },
    ]);
    expect(text).toBe(
      [
        '# HELP auraison_x_total X.\\nSecond line',
        '# TYPE auraison_x_total counter',
        'auraison_x_total{topic="/a \\"quoted\\"\\\\path\\n"} 3',
        'auraison_x_total{topic="/b"} 1',
        '# HELP auraison_lat_seconds Latency.',
        '# TYPE auraison_lat_seconds histogram',
        'auraison_lat_seconds_bucket{loop="base",le="0.001"} 2',
        'auraison_lat_seconds_bucket{loop="base",le="0.01"} 5',
        'auraison_lat_seconds_bucket{loop="base",le="+Inf"} 6',
        'auraison_lat_seconds_sum{loop="base"} 0.02',
        'auraison_lat_seconds_count{loop="base"} 6',
        '# HELP auraison_g G.',
        '# TYPE auraison_g gauge',
        'auraison_g NaN',
        'auraison_g{bad_name="v"} +Inf',
        '',
      ].join('\n'),
    );
  });
});
