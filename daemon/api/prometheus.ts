import type { MetricFamily } from '../contract/index.ts';

/**
 * Renders metric families in the Prometheus text exposition format (version 0.0.4). Families with the same
 * name from different providers are merged under the first one's HELP and TYPE, as the format requires
 * each family to appear once.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const merged = new Map<string, MetricFamily>();
  for (const family of families) {
    const seen = merged.get(family.name);
    if (!seen)
      merged.set(family.name, {
        ...family,
        samples: [...family.samples],
        histograms: family.histograms ? [...family.histograms] : undefined,
      });
    else {
      seen.samples.push(...family.samples);
      if (family.histograms) seen.histograms = [...(seen.histograms ?? []), ...family.histograms];
    }
  }
  const out: string[] = [];
  for (const f of merged.values()) {
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    if (f.type === 'histogram') {
      for (const h of f.histograms ?? []) {
        let sawInf = false;
        for (const b of h.buckets) {
          if (b.le === Infinity) sawInf = true;
          out.push(`${f.name}_bucket${labels({ ...h.labels, le: formatValue(b.le) })} ${formatValue(b.count)}`);
        }
        if (!sawInf) out.push(`${f.name}_bucket${labels({ ...h.labels, le: '+Inf' })} ${formatValue(h.count)}`);
        out.push(
          `${f.name}_sum${labels(h.labels)} ${formatValue(h.sum)}`,
          `${f.name}_count${labels(h.labels)} ${formatValue(h.count)}`,
        );
      }
    }
    for (const s of f.samples) out.push(`${f.name}${labels(s.labels)} ${formatValue(s.value)}`);
  }
  return `${out.join('\n')}\n`;
}

export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

// A scrape writes every sample's labels, and almost none needs changing: test before replacing.
const PLAIN_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const NEEDS_ESCAPE = /[\\\n"]/;

function labels(set: Record<string, string> | undefined): string {
  if (!set) return '';
  let out = '';
  for (const k in set) out += `${out === '' ? '{' : ','}${sanitizeName(k)}="${escapeLabel(set[k]!)}"`;
  return out === '' ? '' : `${out}}`;
}

function sanitizeName(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  return name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
}

function escapeLabel(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}
