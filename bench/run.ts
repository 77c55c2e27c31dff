import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchResult } from './bench.ts';
import type { BenchOutcome } from './bench-child.ts';
import { describeHost, resultRow, updateBenchmarksPage } from './benchmarks-page.ts';

// Runs every bench/*.bench.ts (or those whose file name contains the filter) and prints a table:
// our figure, the baseline measured in the same run, the ratio (>1 means better than the baseline), the goal.
// Each bench runs in a process of its own with a time limit, so one that throws, hangs or crashes its process is a
// FAILED row with its cause, and the others still run. Each file's figures also go to docs/benchmarks.md (its section
// replaced as soon as the file has run), unless --no-docs; --docs FILE writes another page instead.
//   npm run bench [-- FILTER] [--no-docs] [--docs FILE] [--timeout S]
// AURAISON_BENCH_DIR: where the *.bench.ts files are (a test points it at benches of its own).
const dir = process.env.AURAISON_BENCH_DIR ?? dirname(fileURLToPath(import.meta.url));
const CHILD = join(dirname(fileURLToPath(import.meta.url)), 'bench-child.ts');
const USAGE = 'usage: npm run bench [-- FILTER] [--no-docs] [--docs FILE] [--timeout S]';
/** The longest one bench may run before it counts as hung and is killed (--timeout S changes it). */
const DEFAULT_TIMEOUT_S = 20 * 60;
/** After its result, how long a bench's process has to exit before it and what it started are killed. */
const EXIT_GRACE_MS = 5_000;
const args = process.argv.slice(2);
let filter: string | undefined;
let docsPath: string | undefined = join(dir, '..', 'docs', 'benchmarks.md');
let timeoutS = DEFAULT_TIMEOUT_S;
for (let i = 0; i < args.length; i++) {
  const arg = args[i]!;
  if (arg === '--no-docs') docsPath = undefined;
  else if (arg === '--docs' && args[i + 1]) docsPath = args[++i];
  else if (arg === '--timeout' && Number(args[i + 1]) > 0) timeoutS = Number(args[++i]);
  else if (!arg.startsWith('-') && filter === undefined) filter = arg;
  else {
    console.error(`bench: unexpected argument ${JSON.stringify(arg)}\n${USAGE}`);
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

/** The process group of the bench running now, ended with the runner (Ctrl-C does not reach a detached group). */
let running: number | undefined;
for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.on(signal, () => {
    if (running !== undefined) killGroup(running, 'SIGKILL');
    process.exit(130);
  });

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group has ended already
  }
}

/** A bench's figures, or why it gave none (`detail`: the stack of what it threw). */
interface BenchRun {
  results: BenchResult[];
  failure?: string;
  detail?: string;
}

/**
 * Runs one bench file in its own process (and process group: the servers and daemons it starts end with it) and gives
 * its figures, or the cause of its failure: what it threw, that it ran past `timeoutS`, or how its process ended
 * before reporting, with the error line it wrote to stderr. Its output goes to stderr, keeping stdout for the table.
 */

function runBench(file: string): Promise<BenchRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...process.execArgv, CHILD, join(dir, file)], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'advanced', // structured clone: an Infinity or NaN figure stays one
      detached: true,
    });
    running = child.pid;
    let errorTail = '';
    child.stdout!.pipe(process.stderr, { end: false });
    child.stderr!.on('data', (chunk: Buffer) => {
      process.stderr.write(chunk);
      errorTail = (errorTail + chunk.toString()).slice(-16_384);
    });
    let outcome: BenchOutcome | undefined;
    let timedOut = false;
    const limit = setTimeout(() => {
      timedOut = true;
      killGroup(child.pid!, 'SIGKILL');
    }, timeoutS * 1000);
    child.on('message', (message: BenchOutcome) => {
      outcome = message;
      setTimeout(() => killGroup(child.pid!, 'SIGKILL'), EXIT_GRACE_MS).unref();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(limit);
      // What the bench left running (a server, a daemon) ends with it.
      killGroup(child.pid!, 'SIGKILL');
      running = undefined;
      if (outcome?.ok) return resolve({ results: outcome.results });
      if (outcome) return resolve({ results: [], failure: outcome.message, detail: outcome.stack });
      if (timedOut)
        return resolve({
          results: [],
          failure: `no result within ${timeoutS} s: killed (--timeout S gives it longer)`,
        });
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const cause = causeLine(errorTail);
      resolve({ results: [], failure: `its process ${how} before reporting${cause ? `: ${cause}` : ''}` });
    });
  });
}

/**
 * The line of a process's last stderr that says why it ended: the last error line (`Error: ...`, `RangeError ...`) of
 * Node's report of an uncaught exception, not its stack or its closing `Node.js v20` line; else the last line.
 */
function causeLine(stderr: string): string | undefined {
  const lines = stderr
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !/^at /.test(line) && !/^Node\.js v\d/.test(line));
  return lines.findLast((line) => /^(Uncaught )?[\w.]*(Error|Exception)\b/.test(line)) ?? lines.at(-1);
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
  const { results, failure, detail } = await runBench(file);
  if (failure !== undefined) {
    // One bench that fails is a row saying why; the others still run.
    errored++;
    process.stderr.write(`${file} failed: ${detail ?? failure}\n`);
    rows.push([`${file}: FAILED`, '-', '-', '-', failure.split('\n')[0]!.slice(0, 160), 'NO']);
  }
  for (const r of results) {
    rows.push(resultRow(r));
    if (r.met === false) failed++;
    for (const line of r.notes ?? []) notes.push(`${r.name}: ${line}`);
  }
  if (docsPath) {
    const page = existsSync(docsPath) ? readFileSync(docsPath, 'utf8') : '# Benchmarks\n';
    const name = file.slice(0, -'.bench.ts'.length);
    writeFileSync(docsPath, updateBenchmarksPage(page, [{ name, results, ranAt, host, error: failure }]));
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
