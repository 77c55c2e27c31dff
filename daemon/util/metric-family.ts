/** A Prometheus metric family a component exposes (rendered by the API at /metrics). */
export interface MetricFamily {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  samples: { labels?: Record<string, string>; value: number }[];
  /** For histograms: cumulative buckets per label set. */
  histograms?: {
    labels?: Record<string, string>;
    buckets: { le: number; count: number }[];
    sum: number;
    count: number;
  }[];
}

/** Figures by key, in their order: a Map's or a record's. */
export type FiguresByKey = ReadonlyMap<string, number> | Readonly<Record<string, number>>;

/** A metric family of one unlabelled gauge sample. */
export function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'gauge', samples: [{ value }] };
}

/** A metric family of one unlabelled counter sample. */
export function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'counter', samples: [{ value }] };
}

/** A gauge family of one sample per key of `figures` (`auraison_runs{status="running"}`), the key as `label`. */
export function gaugeBy(name: string, help: string, label: string, figures: FiguresByKey): MetricFamily {
  return { name, help, type: 'gauge', samples: samplesBy(label, figures) };
}

/** A counter family of one sample per key of `figures`, the key as `label`. */
export function counterBy(name: string, help: string, label: string, figures: FiguresByKey): MetricFamily {
  return { name, help, type: 'counter', samples: samplesBy(label, figures) };
}

function samplesBy(label: string, figures: FiguresByKey): MetricFamily['samples'] {
  const entries: Iterable<readonly [string, number]> =
    figures instanceof Map ? figures : Object.entries(figures as Readonly<Record<string, number>>);
  return Array.from(entries, ([key, value]) => ({ labels: { [label]: key }, value }));
}
