import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './bench.ts';
import { describeHost, resultRow, updateBenchmarksPage } from './benchmarks-page.ts';

// Runs every bench/*.bench.ts (or those whose file name contains the filter) and prints a table:
// our figure, the baseline measured in the same run, the ratio (>1 means better than the baseline), the goal.
// Each file's figures also go to docs/benchmarks.md (its section replaced as soon as the file has run), unless
// --no-docs; --docs FILE writes another page instead.
//   npm run bench [-- FILTER] [--no-docs] [--docs FILE]
// AURAISON_BENCH_DIR: where the *.bench.ts files are (a test points it at benches of its own).
const dir = process.env.AURAISON_BENCH_DIR ?? dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let filter: string | undefined;
let docsPath: string | undefined = join(dir, '..', 'docs', 'benchmarks.md');
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--no-docs') docsPath = undefined;
  else if (arg === '--docs' && args[i + 1]) docsPath = args[++i];
  else if (!arg.startsWith('-') && filter === undefined) filter = arg;
  else {
    console.error(
      `bench: unexpected argument ${JSON.stringify(arg)}\nusage: npm run bench [-- FILTER] [--no-docs] [--docs FILE]`,
    );
    process.exit(2);
  }
}
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts') && (!filter || f.includes(filter)))
  .sort();
if (files.length === 0) {
  console.error(`no benchmark matches ${JSON.stringify(filter)}`);
  process.exit(2);
}

const rows: string[][] = [['benchmark', 'ours', 'baseline', 'ratio', 'goal', 'met']];
const notes: string[] = [];
let failed = 0;
let errored = 0;
for (const file of files) {
  process.stderr.write(`running ${file}...\n`);
  // Taken before the run: the load the bench itself adds is not the host's.
  const ranAt = new Date();
  const host = describeHost();
  let results: BenchResult[];
  try {
    const mod = (await import(join(dir, file))) as { run: () => Promise<BenchResult[]> };
    results = await mod.run();
  } catch (error) {
    // One bench that throws is a row saying so; the others still run.
    errored++;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`${file} failed: ${error instanceof Error ? (error.stack ?? message) : message}\n`);
    rows.push([`${file}: FAILED`, '-', '-', '-', message.split('\n')[0]!.slice(0, 120), 'NO']);
    continue;
  }
  for (const r of results) {
    rows.push(resultRow(r));
    if (r.met === false) failed++;
    for (const line of r.notes ?? []) notes.push(`${r.name}: ${line}`);
  }
  if (docsPath) {
    const page = existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : '# Benchmarks\n';
    const name = file.slice(0, -'.bench.ts'.length);
    writeFileSync(docsPath, updateBenchmarksPage(page, [{ name, results, ranAt, host }]));
  }
}
const widths = rows[0]!.map((_, c) => Math.max(...rows.map((row) => row[c]!.length)));
for (const [i, row] of rows.entries()) {
  console.log(row.map((cell, c) => cell.padEnd(widths[c]!)).join('  '));
  if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
}
if (notes.length > 0) console.log(`\n${notes.join('\n')}`);
console.log(
  `\nratio: ours relative to the baseline, oriented so that > 1 is better. ${failed} goal(s) not met` +
    (errored > 0 ? `; ${errored} bench(es) FAILED (see above)` : '') +
    '.',
);
if (docsPath) console.log(`figures written to ${docsPath}`);
if (errored > 0) process.exitCode = 1;
