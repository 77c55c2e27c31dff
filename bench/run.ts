import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ratio, type BenchResult } from './bench.ts';

// Runs every bench/*.bench.ts (or those whose file name contains the first argument) and prints a table:
// our figure, the baseline measured in the same run, the ratio (>1 means better than the baseline), the goal.
const dir = dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const files = readdirSync(dir).filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter))).sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filter)}`);
  process.exit(2);
}

const fmt = (n: number): string => (Math.abs(n) >= 1000 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));
const rows: string[][] = [['benchmark', 'ours', 'baseline', 'ratio', 'goal', 'met']];
const notes: string[] = [];
let failed = 0;
for (const file of files) {
  process.stderr.write(`running ${file}...\n`);
  const mod = (await import(join(dir, file))) as { run: () => Promise<BenchResult[]> };
  for (const r of await mod.run()) {
    const q = ratio(r);
    rows.push([
      r.name,
      `${fmt(r.ours)} ${r.unit}`,
      r.baseline ? `${fmt(r.baseline.value)} ${r.unit} (${r.baseline.name})` : '-',
      q === undefined ? '-' : `${q.toFixed(2)}x`,
      r.goal ?? '-',
      r.met === undefined ? '-' : r.met ? 'yes' : 'NO',
    ]);
    if (r.met === false) failed++;
    for (const line of r.notes ?? []) notes.push(`${r.name}: ${line}`);
  }
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
console.log(`\nratio: ours relative to the baseline, oriented so that > 1 is better. ${failed} goal(s) not met.`);
