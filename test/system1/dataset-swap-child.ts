/**
 * `auraison-edge ARGS...` through the CLI's main(), with a file of a dataset swapped for another (REPLACEMENT renamed
 * over it) at a chosen point, for test/system1/lerobot-dataset-swap.test.ts. argv: WHEN TARGET REPLACEMENT ARGS...;
 * WHEN is `after-check` (once the dataset's meta/episodes.jsonl is opened: its data files were listed and checked, and
 * are not read yet) or `after-open` (right after TARGET itself is opened). fs.openSync is swapped before the CLI is
 * loaded, and syncBuiltinESMExports carries the swap to the CLI's `import { openSync } from 'node:fs'`.
 */
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [when, target, replacement, ...args] = process.argv.slice(2) as [string, string, string, ...string[]];
const openSync = fs.openSync;
let swapped = false;
const swap = () => {
  if (swapped) return;
  swapped = true;
  fs.renameSync(replacement, target);
};
fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
  if (when === 'after-check' && String(path).endsWith('/meta/episodes.jsonl')) swap();
  const fd = (openSync as (...a: unknown[]) => number)(path, ...rest);
  if (when === 'after-open' && String(path) === target) swap();
  return fd;
}) as typeof fs.openSync;
syncBuiltinESMExports();

const { main } = await import('../../daemon/cli/main.ts');
const code = await main(args, {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
});
process.stdout.write(`swapped: ${swapped}\n`);
process.exit(code);
