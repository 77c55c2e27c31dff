// One step of work on a data dir that dies by SIGKILL at its Nth file-system change (rm, rename, write,
// link, ...): right after it (`after`) or right before it (`before`). N = 0 runs to the end and prints how
// many changes it made. Node's fs functions are swapped before the daemon's modules load, and
// syncBuiltinESMExports carries the swap to their `import { x } from 'node:fs'` bindings.
//
//   node --import tsx test/crash-torture/sweep-child.ts SCENARIO DATA_DIR N before|after
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';

const [scenario, dataDir, nth, when] = process.argv.slice(2) as [string, string, string, 'before' | 'after'];
const killAt = Number(nth);
let calls = 0;

const SYNC = [
  'rmSync',
  'renameSync',
  'writeFileSync',
  'rmdirSync',
  'unlinkSync',
  'utimesSync',
  'mkdirSync',
  'linkSync',
  'copyFileSync',
  'ftruncateSync',
  'appendFileSync',
] as const;
const ASYNC = [
  'rm',
  'rename',
  'writeFile',
  'unlink',
  'copyFile',
  'link',
  'mkdir',
  'rmdir',
  'utimes',
  'appendFile',
] as const;

function step(fn: string, path: unknown): boolean {
  calls++;
  if (calls !== killAt) return false;
  process.stderr.write(`${JSON.stringify({ crash: calls, fn, path: String(path), when })}\n`);
  return true;
}

const anyFs = fs as unknown as Record<string, (...args: unknown[]) => unknown>;
for (const name of SYNC) {
  const original = anyFs[name]!;
  anyFs[name] = (...args: unknown[]) => {
    const hit = step(name, args[0]);
    if (hit && when === 'before') process.kill(process.pid, 'SIGKILL');
    try {
      return original.apply(fs, args);
    } finally {
      if (hit) process.kill(process.pid, 'SIGKILL'); // after it, whether it threw or not
    }
  };
}
const anyFsp = fsp as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
for (const name of ASYNC) {
  const original = anyFsp[name]!;
  anyFsp[name] = async (...args: unknown[]) => {
    const hit = step(`promises.${name}`, args[0]);
    if (hit && when === 'before') process.kill(process.pid, 'SIGKILL');
    try {
      return await original.apply(fsp, args);
    } finally {
      if (hit) process.kill(process.pid, 'SIGKILL');
    }
  };
}
syncBuiltinESMExports();

const { runScenario } = await import('./sweep-scenarios.ts');
await runScenario(scenario, dataDir);
process.stdout.write(`${JSON.stringify({ calls })}\n`);
