import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const RUN = join(import.meta.dirname, 'run.ts');
const dir = mkdtempSync(join(tmpdir(), 'bench-isolation-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `npm run bench` over the benches written in `dir`, as a user runs it. */
function runBenches(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', RUN, ...args], {
    env: { ...process.env, AURAISON_BENCH_DIR: dir },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('npm run bench, each bench in a process of its own', () => {
  it('reports a bench that hangs or crashes its process as FAILED with why, ends what it started, runs the rest', async () => {
    // a: hangs forever; b: an exception thrown in a timer ends its process; c: leaves a child process running and
    // reports; d: reports after all of them.
    writeFileSync(
      join(dir, 'a.bench.ts'),
      'export async function run() { await new Promise(() => setInterval(() => {}, 1000)); }\n',
    );
    writeFileSync(
      join(dir, 'b.bench.ts'),
      "export async function run() { setTimeout(() => { throw new Error('socket torn down mid-write'); }, 10); await new Promise((r) => setTimeout(r, 60_000)); return []; }\n",
    );
    const pidFile = join(dir, 'left-running.pid');
    writeFileSync(
      join(dir, 'c.bench.ts'),
      [
        "import { spawn } from 'node:child_process';",
        "import { writeFileSync } from 'node:fs';",
        'export async function run() {',
        "  const server = spawn('sleep', ['300'], { stdio: 'ignore' });",
        `  writeFileSync(${JSON.stringify(pidFile)}, String(server.pid));`,
        "  return [{ name: 'left a server running', ours: 1, unit: 'ms', better: 'lower' }];",
        '}',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'd.bench.ts'),
      "export async function run() { return [{ name: 'after the failures', ours: 2, unit: 'ms', better: 'lower' }]; }\n",
    );

    const page = join(dir, 'benchmarks.md');
    const result = await runBenches(['--timeout', '5', '--docs', page]);
    expect(result.code, result.stderr).toBe(1);
    expect(result.stdout).toMatch(
      /a\.bench\.ts: FAILED .*no result within 5 s: killed \(--timeout S gives it longer\)/,
    );
    expect(result.stdout).toMatch(
      /b\.bench\.ts: FAILED .*its process exited with code 1 before reporting: Error: socket torn down mid-write/,
    );
    expect(result.stdout).toMatch(/left a server running +1\.00 ms/);
    expect(result.stdout).toMatch(/after the failures +2\.00 ms/);
    expect(result.stdout).toContain('2 bench(es) FAILED');
    expect(readFileSync(page, 'utf8')).toMatch(/<!-- bench:a -->[\s\S]*\*\*Failed\*\*: no result within 5 s/);
    // Gone, or a zombie where nothing reaps orphans (PID 1 of a container): killed either way.
    const stat = `/proc/${readFileSync(pidFile, 'utf8')}/stat`;
    expect(existsSync(stat) ? readFileSync(stat, 'utf8').split(') ')[1]![0] : 'gone').toMatch(/^(gone|Z)$/);
  }, 120_000);
});
