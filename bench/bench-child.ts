import { pathToFileURL } from 'node:url';
import type { BenchResult } from './bench.ts';

/** What a bench's process tells bench/run.ts over IPC: its figures, or why it threw. */
export type BenchOutcome = { ok: true; results: BenchResult[] } | { ok: false; message: string; stack?: string };

// One bench in a process of its own, started by bench/run.ts: `node --import tsx bench/bench-child.ts FILE`. It sends
// its outcome and exits; what the bench left running (servers, daemons in the same process group) goes with it.
const file = process.argv[2];
if (file === undefined || process.send === undefined) {
  process.stderr.write('usage: bench/run.ts starts this with a bench file and an IPC channel\n');
  process.exit(2);
}

let outcome: BenchOutcome;
try {
  const mod = (await import(pathToFileURL(file).href)) as { run?: () => Promise<BenchResult[]> };
  if (typeof mod.run !== 'function') throw new Error(`${file} exports no run()`);
  outcome = { ok: true, results: await mod.run() };
} catch (error) {
  outcome =
    error instanceof Error
      ? { ok: false, message: error.message, stack: error.stack }
      : { ok: false, message: String(error) };
}
process.send(outcome, () => process.exit(0));
