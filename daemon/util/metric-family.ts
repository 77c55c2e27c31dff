import type { MetricFamily } from '../contract/index.ts';

/** A metric family of one unlabelled gauge sample. */
export function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'gauge', samples: [{ value }] };
}

/** A metric family of one unlabelled counter sample. */
export function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'counter', samples: [{ value }] };
}
