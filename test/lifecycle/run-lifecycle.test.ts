import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { DataDirLock } from '../../daemon/lifecycle/data-dir.ts';
import { silentLogger } from '../../daemon/log.ts';
import { statusFilePath } from '../../daemon/status/status-file.ts';
import { BIN, runCli, runMain, tempDir } from '../helpers/cli.ts';
import { writeStatusFile } from '../helpers/status-file.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { collectJsonLines } from '../agent/daemon-process.ts';

let child: ChildProcessWithoutNullStreams | undefined;
const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  child?.kill('SIGKILL');
  child = undefined;
  for (const d of dirs.splice(0)) d.cleanup();
});

/** Starts `auraison-edge run` and collects its JSON log lines. */
function startDaemon(cwd: string, config: string) {
  const logs: Record<string, unknown>[] = [];
  child = spawn(process.execPath, [BIN, 'run', '--config', config], { cwd });
  collectJsonLines(child.stderr, logs);
  const exited = new Promise<{ code: number | null }>((resolve) => child!.on('close', (code) => resolve({ code })));
  const waitForLog = async (predicate: (l: Record<string, unknown>) => boolean, what: string, timeoutMs = 30_000) => {
    const found = await waitForValue(() => logs.find(predicate), what, timeoutMs).catch(() => undefined);
    if (found) return found;
    throw new Error(`no log line for ${what}; got:\n${logs.map((l) => JSON.stringify(l)).join('\n')}`);
  };
  return { child: child!, logs, exited, waitForLog };
}

describe('auraison-edge run', () => {
  it('runs, reports status, reloads on SIGHUP (rejecting an invalid file), and stops gracefully on SIGTERM', async () => {
    const dir = tempDir('run-');
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      'robot:\n  id: tb3-test\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: true\n  speed: 5\n',
    );
    const d = startDaemon(dir.path, config);
    await d.waitForLog((l) => l.msg === 'daemon running', 'daemon running');

    const status = await runMain(['status', '--config', config, '--json'], { cwd: dir.path });
    expect(status.code).toBe(0);
    const body = JSON.parse(status.stdout) as {
      running: boolean;
      status: { robot: { id: string }; components: Record<string, { state: string }>; topics: { topic: string }[] };
    };
    expect(body.running).toBe(true);
    expect(body.status.robot.id).toBe('tb3-test');
    expect(body.status.components.sim?.state).toBe('running');
    expect(body.status.topics.map((t) => t.topic)).toEqual(expect.arrayContaining(['/scan', '/odom', '/map']));

    // An invalid file is rejected and the running config stays.
    writeFileSync(
      config,
      'robot:\n  id: tb3-test\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: true\n  sped: 5\n',
    );
    d.child.kill('SIGHUP');
    const rejected = await d.waitForLog(
      (l) => l.msg === 'config reload rejected; the running config stays in force',
      'reload rejected',
    );
    expect(String(rejected.err)).toContain('sim.sped: unknown key (did you mean "speed"?)');
    expect(d.child.exitCode).toBe(null);

    // A valid change restarts only the component whose settings changed.
    writeFileSync(
      config,
      'robot:\n  id: tb3-test\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: true\n  speed: 5\n  seed: 2\n',
    );
    d.child.kill('SIGHUP');
    const reloaded = await d.waitForLog((l) => l.msg === 'config reloaded', 'config reloaded');
    expect(reloaded.restarted).toEqual(['sim']);

    d.child.kill('SIGTERM');
    const { code } = await d.exited;
    // The 5 s budget is the daemon's own (stop(4500), then the process ends); this checks that it stopped
    // cleanly through it, flushing as it went.
    expect(code).toBe(0);
    expect(d.logs.some((l) => l.msg === 'daemon stopped')).toBe(true);
    const file = JSON.parse(readFileSync(join(dir.path, '.auraison-edge/run/status.json'), 'utf8')) as {
      state: string;
    };
    expect(file.state).toBe('stopped');
  });

  it('refuses a second daemon on a data dir in use (exit 2, naming the holder) and leaves the first one untouched; after kill -9 the dir is free', async () => {
    const dir = tempDir('run-lock-');
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, 'robot:\n  id: tb3-lock\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: false\n');
    const first = startDaemon(dir.path, config);
    await first.waitForLog((l) => l.msg === 'daemon running', 'daemon running');
    const apiFile = join(dir.path, '.auraison-edge/run/api.json');
    const before = readFileSync(apiFile, 'utf8');

    // The second one through the CLI's main() in this process: the first one is the process under test.
    const second = await runMain(['run', '--config', config], { cwd: dir.path });
    expect(second.code).toBe(2);
    expect(second.stderr).toContain(`.auraison-edge is in use by pid ${first.child.pid}`);
    expect(second.stderr).toContain('give this one another data_dir');
    expect(readFileSync(apiFile, 'utf8')).toBe(before);
    expect((await runMain(['status', '--config', config, '--json'], { cwd: dir.path })).code).toBe(0);

    first.child.kill('SIGKILL');
    await first.exited;
    // The daemon after it starts on the dir (here in this process: the lock is the kernel's, per host).
    const third = new Daemon({
      config: loadConfigFile(config).config,
      configFile: config,
      log: silentLogger(),
      cwd: dir.path,
    });
    await third.start(); // throws if the data dir is still taken
    await third.close();
  });

  it('names a data_dir it cannot create and exits 2 instead of hanging (recursive mkdir never returns under /proc)', async () => {
    const dir = tempDir('run-proc-');
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      'data_dir: /proc/auraison-edge-nope/data\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: false\n',
    );
    const result = await runCli(['run', '--config', config], { cwd: dir.path, timeoutMs: 20_000 });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('data_dir /proc/auraison-edge-nope/data: cannot create /proc/auraison-edge-nope');
  });
});

describe('auraison-edge run: signals during startup and reloads (the process exits, nothing is left running)', () => {
  const CONFIG = 'robot:\n  id: tb3-sig\napi:\n  port: 0\nfoxglove:\n  port: 0\nsim:\n  enabled: true\n  speed: 5\n';
  function setUp(prefix: string) {
    const dir = tempDir(prefix);
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, CONFIG);
    return { dir: dir.path, config };
  }
  const messages = (logs: Record<string, unknown>[]) =>
    logs.map((l) => (l.component ? `${String(l.msg)} ${String(l.component)}` : String(l.msg)));
  /** Nothing may start once the daemon said it stopped, and the data dir must be free after exit. */
  async function expectCleanExit(d: ReturnType<typeof startDaemon>, dataDir: string) {
    const { code } = await d.exited;
    expect(code).toBe(0);
    const lines = messages(d.logs);
    const stoppedAt = lines.indexOf('daemon stopped');
    expect(stoppedAt).toBeGreaterThan(-1);
    expect(lines.slice(stoppedAt + 1).filter((l) => l.startsWith('component started'))).toEqual([]);
    const lock = await DataDirLock.acquire(dataDir, undefined);
    lock.release();
  }

  it('SIGTERM during startup: no component starts after the stop, and run returns', async () => {
    const { dir, config } = setUp('run-term-start-');
    const d = startDaemon(dir, config);
    await d.waitForLog((l) => l.msg === 'component started', 'the first component started');
    d.child.kill('SIGTERM');
    await expectCleanExit(d, join(dir, '.auraison-edge'));
    expect(messages(d.logs)).not.toContain('daemon running');
  });

  it('SIGHUP during startup is applied once the daemon runs: every component starts once', async () => {
    const { dir, config } = setUp('run-hup-start-');
    const d = startDaemon(dir, config);
    await d.waitForLog((l) => l.msg === 'component started', 'the first component started');
    d.child.kill('SIGHUP');
    const reloaded = await d.waitForLog((l) => l.msg === 'config reloaded', 'the queued reload');
    expect(reloaded.restarted).toEqual([]);
    const lines = messages(d.logs);
    expect(lines.indexOf('config reloaded')).toBeGreaterThan(lines.indexOf('daemon running'));
    const starts = lines.filter((l) => l.startsWith('component started'));
    expect(starts.length).toBe(new Set(starts).size);
    d.child.kill('SIGTERM');
    await expectCleanExit(d, join(dir, '.auraison-edge'));
  });

  it('SIGHUP then SIGTERM at once: the reload starts nothing after the stop, and run returns', async () => {
    const { dir, config } = setUp('run-hup-term-');
    const d = startDaemon(dir, config);
    await d.waitForLog((l) => l.msg === 'daemon running', 'daemon running');
    writeFileSync(
      config,
      `${CONFIG.replace('api:\n  port: 0\n', 'api:\n  port: 0\n  body_limit_bytes: 200000\n')}agent:\n  approval_timeout_s: 7\n`,
    );
    d.child.kill('SIGHUP');
    d.child.kill('SIGTERM');
    await expectCleanExit(d, join(dir, '.auraison-edge'));
  });
});

describe('auraison-edge status', () => {
  it('says not running at once after kill -9, although the status file is still fresh', async () => {
    const dir = tempDir('status-kill9-');
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(
      config,
      'robot:\n  id: tb3-k9\napi:\n  enabled: false\nfoxglove:\n  enabled: false\nsim:\n  enabled: false\n',
    );
    const d = startDaemon(dir.path, config);
    await d.waitForLog((l) => l.msg === 'daemon running', 'daemon running');
    // The status file is first written just after that line (and before READY=1): wait for it.
    const statusFile = statusFilePath(join(dir.path, '.auraison-edge'));
    await waitFor(() => existsSync(statusFile), 'the status file');
    const alive = await runMain(['status', '--config', config, '--json'], { cwd: dir.path });
    expect(JSON.parse(alive.stdout)).toMatchObject({ running: true, source: 'file' });
    d.child.kill('SIGKILL');
    await d.exited;
    const json = await runMain(['status', '--config', config, '--json'], { cwd: dir.path });
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ running: false });
    const text = await runMain(['status', '--config', config], { cwd: dir.path });
    expect(text.stdout).toBe(
      `not running: pid ${d.child.pid} is gone (it ended without stopping: killed or crashed)\n`,
    );
  });

  it('keeps its topic columns in line when a topic name is longer than the column', async () => {
    const dir = tempDir('status-columns-');
    dirs.push(dir);
    const topic = (name: string, type: string) => ({
      topic: name,
      type,
      count: 12345,
      bytes: 1,
      rate_hz: 10,
      drops: 3,
      publishers: 1,
      subscribers: 1,
    });
    const config = writeStatusFile(dir.path, {
      components: { 'a-component-with-a-long-name': { state: 'running' } },
      topics: [
        topic('/scan', 'sensor_msgs/msg/LaserScan'),
        topic('/robot/arm/joint_trajectory_controller/state', 'control_msgs/msg/JointTrajectoryControllerState'),
      ],
    });
    const r = await runMain(['status', '--config', config], { cwd: dir.path });
    expect(r.code).toBe(0);
    const rows = r.stdout.split('\n').filter((l) => l.includes('12345'));
    expect(rows).toHaveLength(2);
    expect(new Set(rows.map((l) => l.indexOf('12345'))).size).toBe(1);
    expect(new Set(rows.map((l) => l.length)).size).toBe(1);
  });
  it('after a SIGHUP that changed data_dir, points at the daemon still running on the old dir', async () => {
    const dir = tempDir('status-moved-');
    dirs.push(dir);
    const port = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port: free } = probe.address() as { port: number };
        probe.close(() => resolve(free));
      });
    });
    const config = join(dir.path, 'edge.yaml');
    const yaml = (dataDir: string) =>
      `data_dir: ${dataDir}\napi:\n  port: ${port}\nfoxglove:\n  enabled: false\nsim:\n  enabled: false\n`;
    writeFileSync(config, yaml('./old'));
    // The daemon in this process, reloaded as run's SIGHUP handler does (SIGHUP itself is the first test's):
    // what is under test is what status makes of a daemon whose file names another data_dir.
    const daemon = new Daemon({
      config: loadConfigFile(config).config,
      configFile: config,
      log: silentLogger(),
      cwd: dir.path,
    });
    await daemon.start();
    try {
      writeFileSync(config, yaml('./new'));
      const reloaded = await daemon.reloadFile();
      expect(reloaded).toMatchObject({ ok: true, restarted: [], pending_restart: ['data_dir'] });
      // status gives the daemon at the port 2 s to say whose it is, then goes on without knowing: this one shares
      // the test's loop, which a loaded machine held that long once. Asked again, it answers.
      const r = await waitForValue(async () => {
        const once = await runMain(['status', '--config', config], { cwd: dir.path });
        return once.stdout.includes('belongs to') && once;
      }, 'status to hear whose daemon answers at the port');
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        `belongs to the daemon of ${join(dir.path, 'old')}: if data_dir changed, it takes effect when that daemon restarts`,
      );
    } finally {
      await daemon.close();
    }
  });
});
