// `npm start` as a newcomer runs it, through npm itself: Ctrl-C reaches npm, its shell and the daemon at once (the
// terminal signals the whole foreground group), and npm forwards its own SIGINT to its child as well.
// `--ignore-scripts` leaves out the prestart build, which the suite's global setup has done.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, runShellLine, tempDir } from '../helpers/cli.ts';
import { closedPortPair } from '../helpers/closed-port.ts';
import { waitFor } from '../helpers/wait.ts';

const work = tempDir('npm-start-');
afterAll(() => work.cleanup());

/** A config for the checkout's `npm start` (which runs in the checkout): its data in this test's dir. */
function startConfig(name: string, extra = 'api: {port: 0}\n'): string {
  const config = join(work.path, `${name}.yaml`);
  writeFileSync(config, `data_dir: ${join(work.path, name)}\nsim: {enabled: true}\nfoxglove: {port: 0}\n${extra}`);
  return config;
}

/** `npm start -- ARGS` in the checkout, in a process group of its own, as a terminal's foreground job. */
function npmStart(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn('npm', ['start', '--ignore-scripts', '--', ...args], {
    cwd: ROOT,
    detached: true,
    // this node first: npm's script runs `node` from the PATH
    env: { ...process.env, ...env, PATH: `${dirname(process.execPath)}${delimiter}${process.env.PATH ?? ''}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d: Buffer) => (out.stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out.stderr += d.toString()));
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, out, ended };
}

describe('npm start', () => {
  it('ends with exit code 0 on Ctrl-C once the drive has reached its goal, and the daemon has stopped', async () => {
    // Recording, as npm start does with no config file.
    const config = startConfig('ctrl-c', 'api: {port: 0}\nrecorder: {enabled: true}\n');
    const run = npmStart(['--speed', '50'], { AURAISON_EDGE_CONFIG: config });
    try {
      await waitFor(
        () => run.out.stdout.includes('the daemon and the sim run on until Ctrl-C'),
        `npm start to stay\n${run.out.stdout}\n${run.out.stderr}`,
        120_000,
      );
      expect(run.out.stdout).toContain('reached the goal');
      // The commands it says to try run as printed, from the checkout, with no auraison-edge on the PATH.
      const tries = run.out.stdout.split('\n').filter((l) => /^ {2}(try: {6}| {10})?node /.test(l));
      expect(tries.map((l) => /node \S+ (\w+)/.exec(l)![1])).toEqual(['query', 'bag', 'stop', 'intent', 'status']);
      for (const line of tries.filter((l) => / (query|status) /.test(l))) {
        const tried = await runShellLine(line.replace(/^ *(try:)? */, ''), {
          cwd: ROOT,
          env: { AURAISON_EDGE_CONFIG: config },
        });
        expect(tried.code, `${line}\n${tried.stderr}`).toBe(0);
      }
      process.kill(-run.child.pid!, 'SIGINT');
      expect(await run.ended, run.out.stderr).toEqual({ code: 0, signal: null });
      // npm waited for the daemon's stop, and says no script failed
      expect(run.out.stdout).toContain('interrupted: stopping the daemon');
      expect(run.out.stderr).not.toMatch(/npm error|Lifecycle script/);
      // Nothing to warn of: the split the stop closed is indexed at the next start, as always.
      expect(run.out.stderr).not.toContain('warning');
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) process.kill(-run.child.pid!, 'SIGKILL');
    }
  }, 180_000);

  it('takes --port N for the API and the status page, where the CLI then finds it', async () => {
    const port = await closedPortPair(); // the stop listener takes port + 1
    // The config's own port (the default 7400 when it sets none) gives way to the option.
    const config = startConfig('port', '');
    const run = npmStart(['--speed', '50', '--port', String(port)], { AURAISON_EDGE_CONFIG: config });
    try {
      await waitFor(
        () => run.out.stdout.includes('run on until Ctrl-C'),
        `npm start to stay\n${run.out.stdout}\n${run.out.stderr}`,
        120_000,
      );
      expect(run.out.stdout).toContain(`watch it live: http://127.0.0.1:${port}/`);
      const status = await runCli(['status', '--json'], { cwd: work.path, env: { AURAISON_EDGE_CONFIG: config } });
      expect(status.code, status.stderr).toBe(0);
      process.kill(-run.child.pid!, 'SIGINT');
      expect((await run.ended).code).toBe(0);
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) process.kill(-run.child.pid!, 'SIGKILL');
    }
  }, 180_000);
});
