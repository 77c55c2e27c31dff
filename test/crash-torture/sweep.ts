// Crash-point sweep: for each scenario (a step of work on a data dir), runs it in a child that dies by
// SIGKILL at its 1st, 2nd, ... file-system change (after it, or before it), then does what the next start
// does, and checks the data dir: invariants, and the same state as a run that did not crash.
//  npx tsx test/crash-torture/sweep.ts [--scenarios retention,import,...] [--when after,before] [--points 52,53]
// [--keep]
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildBase, check, restart, type State } from './sweep-scenarios.ts';

const { values: opt } = parseArgs({
  options: {
    scenarios: { type: 'string', default: 'retention,import,events,compaction,repair,start,start-retention' },
    when: { type: 'string', default: 'after,before' },
    points: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const work = mkdtempSync(join(tmpdir(), 'crash-sweep-'));
// The catalog holds absolute paths: every run uses the same data dir, put back from a pristine copy.
const dd = join(work, 'data');
const pristine = join(work, 'pristine');
await buildBase(dd);
cpSync(dd, pristine, { recursive: true });
const fresh = () => {
  rmSync(dd, { recursive: true, force: true });
  cpSync(pristine, dd, { recursive: true });
  return dd;
};
console.log(`crash sweep: ${work}`);

const CHILD = join(import.meta.dirname, 'sweep-child.ts');
function child(scenario: string, dataDir: string, n: number, when: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CHILD, scenario, dataDir, String(n), when], {
    encoding: 'utf8',
  });
  const crash = /\{"crash".*\}/.exec(r.stderr)?.[0];
  const calls = /\{"calls":(\d+)\}/.exec(r.stdout)?.[1];
  return {
    signal: r.signal,
    status: r.status,
    crash: crash ? (JSON.parse(crash) as { crash: number; fn: string; path: string }) : undefined,
    calls: calls === undefined ? undefined : Number(calls),
    stderr: r.stderr,
  };
}

const diff = (a: State, b: State) =>
  (Object.keys(a) as (keyof State)[])
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k}: expected ${JSON.stringify(b[k])}, got ${JSON.stringify(a[k])}`);

let failures = 0;
let points = 0;
for (const scenario of opt.scenarios!.split(',')) {
  // The run that does not crash: its state after the next start is what every crash must end in too...
  const clean = fresh();
  const full = child(scenario, clean, 0, 'after');
  if (full.calls === undefined) throw new Error(`${scenario}: the clean run failed: ${full.stderr}`);
  await restart(clean, { retention: scenario.includes('retention') });
  const expected = await check(clean);
  if (expected.problems.length > 0) console.log(`${scenario}: the clean run's check: ${expected.problems.join('; ')}`);
  // ...and the state the base reaches without the step at all (a crash before its first change).
  console.log(`${scenario}: ${full.calls} file-system changes`);
  for (const when of opt.when!.split(',')) {
    const only = opt.points ? new Set(opt.points.split(',').map(Number)) : undefined;
    for (let n = 1; n <= full.calls; n++) {
      if (only && !only.has(n)) continue;
      const dir = fresh();
      const r = child(scenario, dir, n, when);
      points++;
      if (r.signal !== 'SIGKILL') {
        console.log(
          `  ${when} #${n}: the child did not die there (exit ${r.status}, ${r.signal}): ${r.stderr.slice(-500)}`,
        );
        continue;
      }
      let problems: string[];
      try {
        await restart(dir, { retention: scenario.includes('retention') });
        const got = await check(dir);
        problems = got.problems.filter((p) => !expected.problems.includes(p));
        // A crash may leave the step undone (then the base's own next start) or done: either state is fine,
        // as long as nothing is lost; the state compared is the clean run's after its next start.
        const d = diff(got.state, expected.state);
        // Retention deletes by size: a pass cut short may leave a different (not wrong) set behind; a
        // recording killed loses what was not flushed.
        if (d.length > 0 && (scenario.includes('retention') || scenario === 'record'))
          console.log(`  diff ${scenario} ${when} #${n}: ${d.join('; ')}`);
        else if (d.length > 0) problems.push(`state differs from the run that did not crash: ${d.join('; ')}`);
      } catch (error) {
        problems = [`the next start failed: ${(error as Error).stack}`];
      }
      const where = `${r.crash?.fn}(${r.crash?.path.replace(dir + '/', '')})`;
      if (problems.length > 0) {
        failures++;
        console.log(`  FAIL ${scenario} killed ${when} change #${n} ${where}:\n    - ${problems.join('\n    - ')}`);
        if (opt.keep) cpSync(dir, join(work, `fail-${scenario}-${when}-${n}`), { recursive: true });
      } else {
        console.log(`  ok   ${scenario} killed ${when} change #${n} ${where}`);
      }
    }
  }
}
console.log(`\nsweep: ${points} crash points, ${failures} failed; dir ${work}`);
process.exit(failures > 0 ? 1 : 0);
