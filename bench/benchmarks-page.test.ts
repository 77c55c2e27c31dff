import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { BenchResult } from './bench.ts';
import { updateBenchmarksPage } from './benchmarks-page.ts';

const result = (name: string, ours: number): BenchResult => ({
  name,
  ours,
  baseline: { name: 'EventEmitter', value: 2 * ours },
  unit: 'msg/s',
  better: 'higher',
  goal: '>= 0.5x | 1 M',
  met: true,
  notes: ['p50 1 us   p99 2 us'],
});
const ranAt = new Date('2026-11-24T05:00:00Z');
const host = '2-core Test CPU, Node v20.0.0, load 0.10/0.20/0.30';

const page = `# Benchmarks

Hand-written header.

<!-- bench:results -->
<!-- bench:api -->
old api figures
<!-- /bench:api -->

<!-- bench:bus -->
old bus figures
<!-- /bench:bus -->
<!-- /bench:results -->

## Earlier figures

Hand-written notes.
`;

describe('npm run bench writes docs/benchmarks.md', () => {
  it("replaces the figures of the benches that ran, keeping the others' and the hand-written parts", () => {
    const out = updateBenchmarksPage(page, [{ name: 'bus', results: [result('bus throughput', 1e7)], ranAt, host }]);
    expect(out).toContain('old api figures');
    expect(out).not.toContain('old bus figures');
    expect(out.startsWith('# Benchmarks\n\nHand-written header.\n\n<!-- bench:results -->\n')).toBe(true);
    expect(out.endsWith('<!-- /bench:results -->\n\n## Earlier figures\n\nHand-written notes.\n')).toBe(true);
    expect(out).toContain(`2026-11-24 05:00 UTC, ${host}: \`npm run bench -- bus\`.`);
    // each figure beside its baseline, the ratio, and the goal with whether it was met; a | in a cell does not
    // split the table
    expect(out).toContain(
      '| bus throughput | 10,000,000 msg/s | 20,000,000 msg/s (EventEmitter) | 0.50x | >= 0.5x \\| 1 M: yes |',
    );
    expect(out).toContain('| benchmark | ours | baseline | ratio | goal: met |\n| --- | --- | --- | --- | --- |\n');
    // the notes (percentiles, per-run figures) are the terminal's: the page keeps the table
    expect(out).not.toContain('p50 1 us');
  });

  it('adds the sections of new benches in name order, and is unchanged by a second identical run', () => {
    const sections = [{ name: 'agent', results: [result('agent overhead', 5)], ranAt, host }];
    const once = updateBenchmarksPage(page, sections);
    expect(once.indexOf('<!-- bench:agent -->')).toBeLessThan(once.indexOf('<!-- bench:api -->'));
    expect(updateBenchmarksPage(once, sections)).toBe(once);
  });

  it('says a bench failed in its section instead of keeping its older figures, and a figure not taken is none', () => {
    const failed = updateBenchmarksPage(page, [
      { name: 'bus', results: [], ranAt, host, error: 'no result within 1200 s: killed | hung' },
    ]);
    expect(failed).not.toContain('old bus figures');
    expect(failed).toMatch(/<!-- bench:bus -->[\s\S]*\*\*Failed\*\*: no result within 1200 s: killed \\\| hung\n/);
    const silent = { ...result('silent phase', NaN), baseline: { name: 'alone', value: 3 } };
    const out = updateBenchmarksPage(page, [{ name: 'bus', results: [silent], ranAt, host }]);
    expect(out).toContain('| silent phase | none (see notes) | 3.00 msg/s (alone) | - | >= 0.5x \\| 1 M: yes |');
    // a figure without a goal has none to meet
    const plain = { ...result('plain', 4), goal: undefined, met: undefined };
    expect(updateBenchmarksPage(page, [{ name: 'bus', results: [plain], ranAt, host }])).toContain(
      '| plain | 4.00 msg/s | 8.00 msg/s (EventEmitter) | 0.50x | - |',
    );
    expect(out).not.toContain('NaN');
  });

  it('writes one thing measured under several loads as a row with a column per load', () => {
    const stop = (under: string, what: string, ours: number, floor: number, met?: boolean): BenchResult => ({
      name: `${under}: ${what} (p99)`,
      ours,
      baseline: { name: 'floor', value: floor },
      unit: 'ms',
      better: 'lower',
      ...(met === undefined ? {} : { goal: '<= 100 ms', met }),
    });
    const results = [
      { ...result('stop p99 under a flood, as a multiple of idle', 9.99), baseline: undefined },
      stop('idle', 'POST /stop answered', 5.75, 2.79, true),
      stop('idle', 'listener answered', 2.8, 2.79),
      stop('api load', 'POST /stop answered', 169, 88.3, false),
      stop('api load', 'listener answered', 2.05, 88.3),
    ];
    const out = updateBenchmarksPage(page, [{ name: 'bus', results, ranAt, host }]);
    // the rows that fit no grid keep their table, above it
    expect(out).toContain(
      '| stop p99 under a flood, as a multiple of idle | 9.99 msg/s | - | - | >= 0.5x \\| 1 M: yes |',
    );
    expect(out).toContain(
      [
        '| benchmark (p99) | baseline | goal | idle | api load |',
        '| --- | --- | --- | --- | --- |',
        '| POST /stop answered | floor | <= 100 ms | 5.75 ms (2.79): yes | 169 ms (88.3): NO |',
        '| listener answered | floor | - | 2.80 ms (2.79) | 2.05 ms (88.3) |',
      ].join('\n'),
    );
    expect(out).not.toContain('idle: ');
  });

  it('says once, in the header, a label every row of a table repeats', () => {
    const run = (name: string, ours: number): BenchResult => ({
      ...result(`CLI start: ${name}`, ours),
      baseline: { name: 'node -e 0', value: 0.03 },
      unit: 's',
      better: 'lower',
      goal: '<= 0.3 s',
    });
    const out = updateBenchmarksPage(page, [
      { name: 'bus', results: [run('--help', 0.07), run('status', 0.13)], ranAt, host },
    ]);
    expect(out).toContain(
      [
        '| CLI start | ours | baseline: node -e 0 | ratio | <= 0.3 s: met |',
        '| --- | --- | --- | --- | --- |',
        '| --help | 0.0700 s | 0.0300 s | 0.43x | yes |',
        '| status | 0.130 s | 0.0300 s | 0.23x | yes |',
      ].join('\n'),
    );
  });

  it('gives docs/benchmarks.md back unchanged when no bench ran', () => {
    const docs = readFileSync(new URL('../docs/benchmarks.md', import.meta.url), 'utf8');
    expect(updateBenchmarksPage(docs, [])).toBe(docs);
  });

  it('puts the results at the end of a page that has no place for them yet', () => {
    const out = updateBenchmarksPage('# Benchmarks\n\nNotes.\n', [{ name: 'bus', results: [], ranAt, host }]);
    expect(out).toMatch(
      /^# Benchmarks\n\nNotes\.\n\n<!-- bench:results -->\n<!-- bench:bus -->[\s\S]*<!-- \/bench:results -->\n$/,
    );
  });
});
