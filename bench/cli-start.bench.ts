import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { percentile, type BenchResult } from './bench.ts';
import { sleep } from '../daemon/util/index.ts';

// How long `auraison-edge` takes before it does anything: `--help` and short commands, run as a user runs
// them (a new process each time), beside `node -e 0` measured in the same run. The goal is the issue's: at
// most 0.3 s on the CI machine, and near `node -e 0`. Medians of RUNS runs, wall time, each run paired with a
// `node -e 0` run beside it. `status` is timed twice: with no daemon, and
// asking a daemon that runs (its API answers), as an operator runs it.

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BIN = join(ROOT, 'bin', 'auraison-edge.js');
const RUNS = 15;
const GOAL_S = 0.3;

function wallTime(args: string[], cwd: string): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, args, { cwd, stdio: 'ignore' });
  if (r.error) throw r.error;
  return (performance.now() - start) / 1000;
}

/**
 * `args` and `node -e 0` run in turn, RUNS times each (after one of each to warm the disk cache): their wall times,
 * and each run's time over the `node -e 0` run beside it, so a machine whose speed drifts during the run (a shared
 * VM) skews both alike.
 */
function pairedWallTimes(args: string[], cwd: string): { ours: number[]; bare: number[]; ratios: number[] } {
  wallTime(args, cwd);
  wallTime(['-e', '0'], cwd);
  const ours: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(wallTime(args, cwd));
    bare.push(wallTime(['-e', '0'], cwd));
    ratios.push(ours.at(-1)! / bare.at(-1)!);
  }
  const sort = (a: number[]) => a.sort((x, y) => x - y);
  return { ours: sort(ours), bare: sort(bare), ratios: sort(ratios) };
}

/** A daemon in `cwd` (no sim, no agent: what `status` asks is the API), up once it wrote its run/api.json. */
async function startDaemon(cwd: string): Promise<{ config: string; child: ChildProcess }> {
  const config = join(cwd, 'edge.yaml');
  writeFileSync(
    config,
    'data_dir: ./data\napi:\n  port: 0\nfoxglove:\n  enabled: false\nsim:\n  enabled: false\nlakehouse:\n  enabled: false\n',
  );
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd, stdio: 'ignore' });
  for (let waited = 0; !existsSync(join(cwd, 'data', 'run', 'api.json')); waited += 100) {
    if (waited > 30_000 || child.exitCode !== null) throw new Error('the daemon for `status` did not start in 30 s');
    await sleep(100);
  }
  return { config, child };
}

export async function run(): Promise<BenchResult[]> {
  execFileSync(process.execPath, [join(ROOT, 'bin', 'build.js')], { cwd: ROOT, stdio: 'ignore' });
  const cwd = mkdtempSync(join(tmpdir(), 'cli-start-'));
  try {
    const daemonDir = mkdtempSync(join(tmpdir(), 'cli-start-daemon-'));
    const daemon = await startDaemon(daemonDir);
    const commands: [string, string[], string][] = [
      ['auraison-edge --help', ['--help'], cwd],
      ['auraison-edge status (no daemon)', ['status'], cwd],
      ['auraison-edge status (a daemon running)', ['status', '--config', daemon.config], daemonDir],
      ['auraison-edge config check (default config)', ['config', 'check'], cwd],
    ];
    const timed = commands.map(([name, args, dir]) => [name, pairedWallTimes([BIN, ...args], dir)] as const);
    daemon.child.kill('SIGTERM');
    await new Promise((resolve) => daemon.child.once('exit', resolve));
    rmSync(daemonDir, { recursive: true, force: true });
    return timed.map(([name, { ours, bare, ratios }]) => {
      const median = percentile(ours, 50);
      return {
        name: `CLI start: ${name}`,
        ours: median,
        baseline: { name: 'node -e 0, run by run beside it', value: percentile(bare, 50) },
        unit: 's',
        better: 'lower',
        goal: `<= ${GOAL_S} s, near node -e 0`,
        met: median <= GOAL_S,
        notes: [
          `each run over the node -e 0 run beside it: median ${percentile(ratios, 50).toFixed(2)}x (min ${ratios[0]!.toFixed(2)}x, max ${ratios.at(-1)!.toFixed(2)}x); p90 ${percentile(ours, 90).toFixed(3)} s over ${RUNS} runs, node -e 0 p90 ${percentile(bare, 90).toFixed(3)} s`,
        ],
      } satisfies BenchResult;
    });
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}
