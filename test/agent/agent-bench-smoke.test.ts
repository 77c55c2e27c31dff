// `npm run bench -- agent` still runs: the benchmark builds three agents and a bare pi-agent-core loop
// from the daemon's own parts, so a change to those parts can break it without any other test noticing
// (as when agents served agent/stop on the bus the three shared). Two rounds after one
// warm-up: this checks that it runs and prints its table, not what it measures.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';

describe('the agent benchmark', () => {
  it('runs to its table with both loops measured', { timeout: 60_000 }, () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/run.ts', 'agent', '--no-docs'], {
      cwd: ROOT,
      env: { ...process.env, AGENT_BENCH_ROUNDS: '2', AGENT_BENCH_WARMUP: '1' },
      encoding: 'utf8',
      timeout: 55_000,
    });
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(
      /^agent loop per tool call \(faux model, 20 calls\/run, journal fsync never\) +[\d.]+ ms +[\d.]+ ms \(bare pi-agent-core Agent\) +[\d.]+x/m,
    );
    expect(r.stdout).toMatch(/^agent loop per tool call, journal I\/O left out \(serialize only\) +[\d.]+ ms/m);
  });
});
