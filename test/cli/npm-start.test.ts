// `npm start` as a newcomer runs it, through npm itself: Ctrl-C reaches npm, its shell and the daemon at once (the
// terminal signals the whole foreground group), and npm forwards its own SIGINT to its child as well.
// `--ignore-scripts` leaves out the prestart build, which the suite's global setup has done.
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, runCli, runShellLine, tempDir } from '../helpers/cli.ts';
import { closedPort, closedPortPair } from '../helpers/closed-port.ts';
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
      const words = tries.map((l) => /node \S+ (\w+(?: --release)?)/.exec(l)![1]);
      expect(words).toEqual(['query', 'bag', 'stop', 'stop --release', 'intent', 'status']);
      // The next steps in the order printed: the stop, its release, then an intent the latch no longer refuses.
      for (const [i, line] of tries.entries()) {
        if (words[i] === 'bag') continue;
        const tried = await runShellLine(line.replace(/^ *(try:)? */, ''), {
          cwd: ROOT,
          env: { AURAISON_EDGE_CONFIG: config },
        });
        expect(tried.code, `${line}\n${tried.stdout}\n${tried.stderr}`).toBe(0);
        if (words[i] === 'intent') expect(tried.stdout).toContain('"reached":true');
      }
      process.kill(-run.child.pid!, 'SIGINT');
      expect(await run.ended, run.out.stderr).toEqual({ code: 0, signal: null });
      // npm waited for the daemon's stop, and says no script failed
      expect(run.out.stdout).toContain('interrupted: stopping the daemon');
      expect(run.out.stderr).not.toMatch(/npm error|Lifecycle script/);
      // Nothing to warn of but the stop and its release, and the split the stop closed (the drive back among it) is
      // indexed: a query leaves nothing out.
      const warnings = run.out.stderr.split('\n').filter((l) => l.includes('warning'));
      expect(warnings).toEqual([
        'auraison-edge: warning: robot stopped',
        expect.stringMatching(/^auraison-edge: warning: robot stop latch released by \S+: the robot may move again$/),
      ]);
      const after = await runCli(['query', 'SELECT count(*) FROM "/odom"'], {
        cwd: work.path,
        env: { AURAISON_EDGE_CONFIG: config },
      });
      expect(after.code, after.stderr).toBe(0);
      expect(after.stderr).not.toContain('waiting to be indexed');
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) process.kill(-run.child.pid!, 'SIGKILL');
    }
  }, 180_000);

  it('takes --port N for the API and the status page, where the CLI then finds it, and --foxglove-port', async () => {
    const port = await closedPortPair(); // the stop listener takes port + 1
    const foxglove = await closedPort();
    // The config's own ports (its foxglove.port, the default api.port 7400) give way to the options.
    const config = startConfig('port', '');
    const run = npmStart(['--speed', '50', '--port', String(port), '--foxglove-port', String(foxglove)], {
      AURAISON_EDGE_CONFIG: config,
    });
    try {
      await waitFor(
        () => run.out.stdout.includes('run on until Ctrl-C'),
        `npm start to stay\n${run.out.stdout}\n${run.out.stderr}`,
        120_000,
      );
      expect(run.out.stdout).toContain(`watch it live: http://127.0.0.1:${port}/`);
      expect(run.out.stdout).toContain(`open a connection to ws://127.0.0.1:${foxglove}`);
      // A config file that does not turn the recorder on: said, not silent.
      expect(run.out.stderr).toContain(`auraison-edge sim: not recording: ${config} leaves recorder.enabled false`);
      const status = await runCli(['status', '--json'], { cwd: work.path, env: { AURAISON_EDGE_CONFIG: config } });
      expect(status.code, status.stderr).toBe(0);
      process.kill(-run.child.pid!, 'SIGINT');
      expect((await run.ended).code).toBe(0);
    } finally {
      if (run.child.exitCode === null && run.child.signalCode === null) process.kill(-run.child.pid!, 'SIGKILL');
    }
  }, 180_000);
});
