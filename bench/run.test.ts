import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';

const RUN = join(import.meta.dirname, 'run.ts');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('npm run bench', () => {
  it('reports a bench that throws as a FAILED row, runs the others, and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bench-run-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'a.bench.ts'), "export async function run() { throw new Error('no SSE event came'); }\n");
    writeFileSync(
      join(dir, 'b.bench.ts'),
      "export async function run() { return [{ name: 'after the failure', ours: 2, unit: 'ms', better: 'lower' }]; }\n",
    );
    const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', RUN, '--no-docs'], {
      env: { ...process.env, AURAISON_BENCH_DIR: dir },
    }).then(
      (r) => ({ code: 0, ...r }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/a\.bench\.ts: FAILED .*no SSE event came/);
    expect(result.stdout).toMatch(/after the failure +2\.00 ms/);
    expect(result.stdout).toContain('1 bench(es) FAILED');
  }, 60_000);
});
