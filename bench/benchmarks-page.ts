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

/** One row of the terminal table: benchmark, ours, baseline, ratio, goal, met. */
export function resultRow(r: BenchResult): string[] {
  const q = ratio(r);
  // NaN is a figure the run could not take (no samples): its notes say why.
  const figure = (n: number) => (Number.isFinite(n) ? `${formatNumber(n)} ${r.unit}` : 'none (see notes)');
  return [
    r.name,
    figure(r.ours),
    r.baseline ? `${figure(r.baseline.value)} (${r.baseline.name})` : '-',
    q === undefined || !Number.isFinite(q) ? '-' : `${q.toFixed(2)}x`,
    r.goal ?? '-',
    r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
  ];
}

/** The page's row: the terminal's, with the goal and whether it was met in one cell (`-` where there is no goal). */
function pageRow(r: BenchResult): string[] {
  const [name, ours, baseline, q, goal, met] = resultRow(r);
  return [name!, ours!, baseline!, q!, met === '-' ? goal! : goal === '-' ? met! : `${goal}: ${met}`];
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|').replaceAll('\n', ' ');
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
    '| benchmark | ours | baseline | ratio | goal: met |',
    '| --- | --- | --- | --- | --- |',
    ...results.map((r) => `| ${pageRow(r).map(cell).join(' | ')} |`),
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
