import { cpus, loadavg } from 'node:os';
import { ratio, type BenchResult } from './bench.ts';

/** One bench file's figures from one run, as docs/benchmarks.md shows them (its notes go to the terminal only). */
export interface BenchSection {
  /** The file's name without `.bench.ts`: `bus`, `control-loop`. */
  name: string;
  results: BenchResult[];
  /** When it ran, and on what: see describeHost. */
  ranAt: Date;
  host: string;
  /** Why the file gave no figures (it threw): the section says so instead of keeping an older run's. */
  error?: string;
}

const START = '<!-- bench:results -->';
const END = '<!-- /bench:results -->';

/**
 * The machine a figure was measured on, as the page writes it: `2-core AMD EPYC, Node v24.21.0, load 1.47/2.65/4.22`
 * (the load averages over 1, 5 and 15 minutes, taken at the start).
 */
export function describeHost(): string {
  const cpu = cpus();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join('/');
  return `${cpu.length}-core ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}, load ${load}`;
}

export function formatNumber(n: number): string {
  return Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3);
}

/** A figure as the tables write it: `5.75 ms`; NaN is one the run could not take (no samples): the notes say why. */
function figure(n: number, unit: string): string {
  return Number.isFinite(n) ? `${formatNumber(n)} ${unit}` : 'none (see notes)';
}

/** One row of the terminal table: benchmark, ours, baseline, ratio, goal, met. */
export function resultRow(r: BenchResult): string[] {
  const row = pageRow(r);
  return [
    row.name,
    row.ours,
    row.baseline ? `${row.baseline.value} (${row.baseline.name})` : '-',
    row.ratio,
    row.goal ?? '-',
    row.met ?? '-',
  ];
}

/** One row of the page as its cells' text: a figure is its number and unit (`2.79 ms`). */
export interface PageRow {
  name: string;
  ours: string;
  baseline?: { name: string; value: string };
  ratio: string;
  goal?: string;
  met?: string;
}

/** The page's row of a result: the terminal's cells, with the baseline's name apart from its figure. */
export function pageRow(r: BenchResult): PageRow {
  const q = ratio(r);
  return {
    name: r.name,
    ours: figure(r.ours, r.unit),
    ...(r.baseline ? { baseline: { name: r.baseline.name, value: figure(r.baseline.value, r.unit) } } : {}),
    ratio: q === undefined || !Number.isFinite(q) ? '-' : `${q.toFixed(2)}x`,
    ...(r.goal === undefined ? {} : { goal: r.goal }),
    ...(r.met === undefined ? {} : { met: r.met ? 'yes' : 'NO' }),
  };
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
}

function tableLines(header: string[], rows: string[][]): string[] {
  return [header, header.map(() => '---'), ...rows].map((row) => `| ${row.map(cell).join(' | ')} |`);
}

/** `goal: met` in one cell: `-` where there is no goal, the goal alone where the run could not judge it. */
function goalMet({ goal, met }: Pick<PageRow, 'goal' | 'met'>): string {
  return met === undefined ? (goal ?? '-') : goal === undefined ? met : `${goal}: ${met}`;
}

/** What every name starts with, up to its last `: ` or `, ` (`CLI start: `), or `''` when that is nothing. */
function commonPrefix(names: string[]): string {
  if (names.length < 2) return '';
  let common = names[0]!;
  for (const n of names) while (!n.startsWith(common)) common = common.slice(0, -1);
  const cut = Math.max(common.lastIndexOf(': '), common.lastIndexOf(', '));
  const prefix = cut > 0 ? common.slice(0, cut + 2) : '';
  return names.every((n) => n.length > prefix.length) ? prefix : '';
}

/** The ` (p99)` every name ends with, or `''`. */
function commonSuffix(names: string[]): string {
  const suffix = / \([^()]*\)$/.exec(names[0] ?? '')?.[0] ?? '';
  return names.length >= 2 && names.every((n) => n.endsWith(suffix) && n.length > suffix.length) ? suffix : '';
}

/** The value every row has in one cell (a baseline's name, a goal), once in the header instead of in each row. */
function shared(values: (string | undefined)[]): string | undefined {
  return values.length >= 2 && values[0] !== undefined && values.every((v) => v === values[0]) ? values[0] : undefined;
}

/** A table of one row per figure; a label each row repeats (a prefix, a baseline, a goal) goes to its header. */
function flatTable(rows: PageRow[]): string[] {
  const names = rows.map((r) => r.name);
  const [prefix, suffix] = [commonPrefix(names), commonSuffix(names)];
  const title = `${prefix.replace(/[:,] $/, '') || 'benchmark'}${suffix}`;
  const baseline = shared(rows.map((r) => r.baseline?.name));
  const goal = rows.every((r) => r.met !== undefined) ? shared(rows.map((r) => r.goal)) : undefined;
  const header = [
    title,
    'ours',
    baseline === undefined ? 'baseline' : `baseline: ${baseline}`,
    'ratio',
    goal === undefined ? 'goal: met' : `${goal}: met`,
  ];
  return tableLines(
    header,
    rows.map((r) => [
      r.name.slice(prefix.length, r.name.length - suffix.length),
      r.ours,
      !r.baseline ? '-' : baseline === undefined ? `${r.baseline.value} (${r.baseline.name})` : r.baseline.value,
      r.ratio,
      goal === undefined ? goalMet(r) : r.met!,
    ]),
  );
}

/** `label: what` of a name such as `api load: listener answered (p99)`. */
function splitName(name: string): [label: string, what: string] | undefined {
  const i = name.indexOf(': ');
  return i > 0 ? [name.slice(0, i), name.slice(i + 2)] : undefined;
}

/**
 * The rows that measure the same things under several conditions (`idle: X`, `api load: X`, ...), as a grid: a row
 * per thing, a column per condition. A thing is in the grid when two conditions or more measure it against the
 * same baseline and goal; a condition is when it measures two such things or more, and half of them at least (a
 * condition that skipped one keeps its column, with `-` there).
 */
function findGrid(rows: PageRow[]): { labels: string[]; whats: string[]; inGrid: Set<PageRow> } | undefined {
  const split = new Map(rows.flatMap((r) => (splitName(r.name) ? [[r, splitName(r.name)!] as const] : [])));
  const gridWhats = (labels: Set<string>) => {
    const byWhat = new Map<string, PageRow[]>();
    for (const [r, [label, what]] of split) if (labels.has(label)) byWhat.set(what, [...(byWhat.get(what) ?? []), r]);
    return [...byWhat].filter(([, measured]) => {
      const same = (f: (r: PageRow) => string | undefined) => new Set(measured.map(f)).size === 1;
      const under = new Set(measured.map((r) => split.get(r)![0]));
      return under.size >= 2 && under.size === measured.length && same((r) => r.baseline?.name) && same((r) => r.goal);
    });
  };
  const all = gridWhats(new Set([...split.values()].map(([label]) => label)));
  const count = (label: string, of: [string, PageRow[]][]) =>
    of.filter(([, measured]) => measured.some((r) => split.get(r)![0] === label)).length;
  const labels = [...new Set([...split.values()].map(([label]) => label))].filter(
    (label) => count(label, all) >= 2 && count(label, all) * 2 >= all.length,
  );
  const grid = gridWhats(new Set(labels));
  const inGrid = new Set(grid.flatMap(([, measured]) => measured));
  return grid.length >= 2 && labels.length >= 2 ? { labels, whats: grid.map(([what]) => what), inGrid } : undefined;
}

/** A grid's cell: `5.75 ms (2.79): yes`, ours beside its baseline's figure (its unit when it is not ours). */
function gridCell(r: PageRow | undefined): string {
  if (!r) return '-';
  const unit = r.ours.slice(r.ours.indexOf(' '));
  const base = r.baseline
    ? ` (${r.baseline.value.endsWith(unit) ? r.baseline.value.slice(0, -unit.length) : r.baseline.value})`
    : '';
  return `${r.ours}${base}${r.met === undefined ? '' : `: ${r.met}`}`;
}

function gridTable(rows: PageRow[], { labels, whats }: { labels: string[]; whats: string[] }): string[] {
  const at = new Map(rows.map((r) => [r.name, r]));
  const suffix = commonSuffix(whats);
  const goals = whats.some((what) => labels.some((l) => at.get(`${l}: ${what}`)?.goal !== undefined));
  const first = (what: string) => labels.map((l) => at.get(`${l}: ${what}`)).find((r) => r !== undefined)!;
  return tableLines(
    [`benchmark${suffix}`, 'baseline', ...(goals ? ['goal'] : []), ...labels],
    whats.map((what) => [
      what.slice(0, what.length - suffix.length),
      first(what).baseline?.name ?? '-',
      ...(goals ? [first(what).goal ?? '-'] : []),
      ...labels.map((l) => gridCell(at.get(`${l}: ${what}`))),
    ]),
  );
}

/** A section's tables: the figures of one thing under several conditions as a grid, the others one per row. */
export function formatTables(rows: PageRow[]): string[] {
  const grid = findGrid(rows);
  const flat = grid ? rows.filter((r) => !grid.inGrid.has(r)) : rows;
  const gridRows = grid ? rows.filter((r) => grid.inGrid.has(r)) : [];
  return [
    ...(flat.length > 0 ? flatTable(flat) : []),
    ...(flat.length > 0 && grid ? [''] : []),
    ...(grid ? gridTable(gridRows, grid) : []),
  ];
}

export function formatSection({ name, results, ranAt, host, error }: BenchSection): string {
  const when = `${ranAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const lines = [
    `<!-- bench:${name} -->`,
    `### ${name}`,
    '',
    `${when}, ${host}: \`npm run bench -- ${name}\`.`,
    '',
    ...(error === undefined ? [] : [`**Failed**: ${cell(error)}`, '']),
    ...formatTables(results.map(pageRow)),
  ];
  lines.push(`<!-- /bench:${name} -->`);
  return lines.join('\n');
}

/**
 * The page with each section's figures put in place of that bench file's earlier ones; the sections of files
 * not run this time stay as they were, and everything outside the results markers (the hand-written parts)
 * is kept byte for byte. A page without the markers gets them at its end.
 */
export function updateBenchmarksPage(page: string, sections: BenchSection[]): string {
  let start = page.indexOf(START);
  let end = page.indexOf(END);
  if (start === -1 || end === -1 || end < start) {
    page = `${page.trimEnd()}\n\n${START}\n${END}\n`;
    start = page.indexOf(START);
    end = page.indexOf(END);
  }
  const inside = page.slice(start + START.length, end);
  const kept = new Map<string, string>();
  for (const m of inside.matchAll(/<!-- bench:([\w.-]+) -->[\s\S]*?<!-- \/bench:\1 -->/g)) kept.set(m[1]!, m[0]);
  for (const s of sections) kept.set(s.name, formatSection(s));
  const body = [...kept.keys()]
    .sort()
    .map((name) => kept.get(name)!)
    .join('\n\n');
  return `${page.slice(0, start)}${START}\n${body}\n${page.slice(end)}`;
}
