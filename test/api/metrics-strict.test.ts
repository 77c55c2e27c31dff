import { describe, expect, it } from 'vitest';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';

const cleanups = cleanupStack();

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(?:,|$)/y;

/**
 * Checks text against the Prometheus exposition format 0.0.4 the way a scraper reads it, and returns
 * every problem: a sample without TYPE, HELP or TYPE twice, a family split in two, bad label syntax, a
 * repeated label, a series (name and label set) given twice, a negative counter.
 */
function problems(text: string): string[] {
  const found: string[] = [];
  if (!text.endsWith('\n')) found.push('does not end with a newline');
  const types = new Map<string, string>();
  const helps = new Set<string>();
  const series = new Set<string>();
  const closed = new Set<string>();
  let current: string | undefined;
  const familyOf = (name: string) => {
    for (const suffix of ['_bucket', '_sum', '_count']) {
      const base = name.slice(0, -suffix.length);
      if (name.endsWith(suffix) && ['histogram', 'summary'].includes(types.get(base) ?? '')) return base;
    }
    return name;
  };
  text.split('\n').forEach((line, i) => {
    const at = `line ${i + 1}`;
    if (line === '') return;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!NAME.test(name!)) found.push(`${at}: bad metric name ${name}`);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest!))
          found.push(`${at}: bad type ${rest}`);
        if (types.has(name!)) found.push(`${at}: second TYPE for ${name}`);
        types.set(name!, rest!);
      } else {
        if (helps.has(name!)) found.push(`${at}: second HELP for ${name}`);
        helps.add(name!);
      }
      return;
    }
    if (line.startsWith('#')) return;
    const m = SAMPLE.exec(line);
    if (!m) return void found.push(`${at}: unparsable sample ${line}`);
    const [, name, body = '', value] = m;
    const labels: [string, string][] = [];
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const start = LABEL.lastIndex;
      const l = LABEL.exec(body);
      if (!l) {
        found.push(`${at}: bad label syntax at ${body.slice(start, start + 40)}`);
        break;
      }
      if (labels.some(([k]) => k === l[1])) found.push(`${at}: label ${l[1]} twice`);
      labels.push([l[1]!, l[2]!]);
    }
    const family = familyOf(name!);
    if (!types.has(family)) found.push(`${at}: ${name} has no TYPE`);
    if (family !== current) {
      if (closed.has(family)) found.push(`${at}: family ${family} is split by another`);
      if (current) closed.add(current);
      current = family;
    }
    const key = `${name}{${labels
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join(',')}}`;
    if (series.has(key)) found.push(`${at}: duplicate series ${key}`);
    series.add(key);
    const v = Number(value === '+Inf' ? Infinity : value === '-Inf' ? -Infinity : value);
    if (value !== 'NaN' && Number.isNaN(v)) found.push(`${at}: bad value ${value}`);
    if (types.get(family) === 'counter' && !(v >= 0)) found.push(`${at}: counter ${name} is ${value}`);
  });
  return found;
}

describe('/metrics', () => {
  it('parses strictly, with every series once, on a daemon whose recorder has a subscriber per topic', async () => {
    const d = await startDaemon(
      {
        sim: { enabled: true, speed: 5 },
        recorder: { enabled: true, min_free_bytes: 0 },
        api: { port: 0 },
        foxglove: { enabled: false },
      },
      'metrics-strict-',
    );
    cleanups.push(d.stop);
    const status = () => d.daemon.status();
    await waitFor(
      () => status().subscribers.filter((s) => s.name === 'recorder').length > 1,
      'the recorder to subscribe to more than one topic',
      30_000,
    );
    const url = d.daemon.ports.get(PORTS.api)!.url!;
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('auraison_subscriber_received_total{subscriber="recorder",topic="/scan"');
    expect(problems(text)).toEqual([]);
  });

  it('the check finds a repeated series', () => {
    expect(problems('# TYPE a counter\na{x="1"} 1\na{x="1"} 2\n')).toEqual(['line 3: duplicate series a{x="1"}']);
  });
});
