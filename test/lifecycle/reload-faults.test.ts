import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, tempDir } from '../helpers/cli.ts';
import { collectJsonLines } from '../agent/daemon-process.ts';
import { waitFor } from '../helpers/wait.ts';

const children: ChildProcessWithoutNullStreams[] = [];
const dirs: { cleanup: () => void }[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const d of dirs.splice(0)) d.cleanup();
});

type Line = Record<string, unknown> & { msg?: string };

/**
 * `auraison-edge run --config <config>` with a stand-in for the systemd-notify tool on PATH: it records
 * what the daemon asks systemd, and holds STOPPING=1 until the test creates `<dir>/gate`, so a signal can
 * be sent while the daemon is known to be stopping.
 */
function runDaemon(dir: string, config: string) {
  const bin = join(dir, 'bin');
  const calls = join(dir, 'notify-calls.txt');
  spawnSync('mkdir', ['-p', bin]);
  writeFileSync(
    join(bin, 'systemd-notify'),
    // It ignores the SIGTERM the daemon's 5 s timeout on systemd-notify sends: on a loaded machine the test's
    // signals can come later than that, and the stop must still be held.
    `#!/bin/sh\ntrap '' TERM\necho "$@" >> ${calls}\ncase "$*" in *STOPPING=1*) while [ ! -f ${join(dir, 'gate')} ]; do sleep 0.02; done;; esac\n`,
  );
  chmodSync(join(bin, 'systemd-notify'), 0o755);
  const child = spawn(process.execPath, [BIN, 'run', '--config', config], {
    cwd: dir,
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/fake/notify' },
  });
  children.push(child);
  const logs: Line[] = [];
  collectJsonLines(child.stderr, logs);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  const count = (msg: string) => logs.filter((l) => l.msg === msg).length;
  const dump = () => logs.map((l) => JSON.stringify(l)).join('\n');
  const logged = (msg: string, times = 1) =>
    waitFor(
      () => count(msg) >= times || child.exitCode !== null || child.signalCode !== null,
      `log "${msg}" x${times}`,
    ).then(() => {
      if (count(msg) < times)
        throw new Error(
          `the daemon exited (${child.exitCode ?? child.signalCode}) before logging "${msg}":\n${dump()}`,
        );
      return logs.filter((l) => l.msg === msg).at(times - 1)!;
    });
  const notified = () =>
    existsSync(calls)
      ? readFileSync(calls, 'utf8')
          .trim()
          .split('\n')
          .map((l) => l.replace(/^--pid=\d+ /, ''))
      : [];
  return { child, logs, exited, logged, notified };
}

const YAML = (id: string) =>
  `robot:\n  id: ${id}\nlog:\n  level: info\napi:\n  port: 0\nfoxglove:\n  enabled: false\nsim:\n  enabled: false\n`;

async function status(dir: string): Promise<{
  robot: { id: string };
  last_reload: { ok: boolean; error?: string; hint?: string; restarted: string[] } | null;
}> {
  const { url } = JSON.parse(readFileSync(join(dir, '.auraison-edge', 'run', 'api.json'), 'utf8')) as { url: string };
  return (await (await fetch(`${url}/status`)).json()) as never;
}

describe('SIGHUP while the config file is being written, gone, or names an unset ${ENV}', () => {
  it('each bad file is refused and said so, the running config kept; the complete file then applies; every RELOADING=1 gets its READY=1', async () => {
    const dir = tempDir('reload-faults-');
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, YAML('r1'));
    const d = runDaemon(dir.path, config);
    await d.logged('daemon running');
    const rejected = 'config reload rejected; the running config stays in force';

    // An editor that truncates, then writes: the empty file in between must not put every section back to
    // its defaults (the recorder off, the API on 7400).
    writeFileSync(config, '');
    d.child.kill('SIGHUP');
    const empty = await d.logged(rejected, 1);
    expect(String(empty.err)).toContain('edge.yaml: the file has no settings (empty, or only comments)');
    let s = await status(dir.path);
    expect(s.robot.id).toBe('r1');
    expect(s.last_reload).toMatchObject({
      ok: false,
      error: expect.stringContaining('no settings'),
      hint: expect.stringContaining('reload again'),
    });

    // Deleted: keeps running on the old config, and says so.
    rmSync(config);
    d.child.kill('SIGHUP');
    expect(String((await d.logged(rejected, 2)).err)).toContain(`no such file (${config})`);

    // ${ENV} not set in the daemon's environment: the hint says a shell export does not reach it.
    writeFileSync(config, YAML('${EDGE_RELOAD_TEST_UNSET}'));
    d.child.kill('SIGHUP');
    const unset = await d.logged(rejected, 3);
    expect(String(unset.err)).toContain('environment variable EDGE_RELOAD_TEST_UNSET is not set');
    expect(String(unset.hint)).toContain('Environment=');

    // The complete file, put in place by an atomic rename, applies on the next SIGHUP.
    writeFileSync(`${config}.tmp`, YAML('r2'));
    renameSync(`${config}.tmp`, config);
    d.child.kill('SIGHUP');
    await d.logged('config reloaded');
    s = await status(dir.path);
    expect(s.robot.id).toBe('r2');
    expect(s.last_reload).toMatchObject({ ok: true });

    // systemd-notify is a process of its own: the last READY=1 may land after the log line.
    const readies = () => d.notified().filter((l) => l.startsWith('--ready')).length;
    await waitFor(() => readies() >= 5, 'a READY=1 for each of the four reloads');
    const reloads = d.notified().filter((l) => l.startsWith('RELOADING=1') || l.startsWith('--ready'));
    expect(reloads.map((l) => l.split(' ')[0])).toEqual([
      '--ready',
      'RELOADING=1',
      '--ready',
      'RELOADING=1',
      '--ready',
      'RELOADING=1',
      '--ready',
      'RELOADING=1',
      '--ready',
    ]);
    expect(reloads[1]).toMatch(/^RELOADING=1 MONOTONIC_USEC=\d+$/);
    expect(reloads[2]).toContain(
      '--status=running; config reload rejected, the running config stays: edge.yaml: the file has no settings',
    );
    expect(reloads.at(-1)).toBe('--ready --status=running');

    writeFileSync(join(dir.path, 'gate'), '');
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});

describe('signals while stopping', () => {
  it('SIGINT, then SIGHUP and SIGTERM while it stops (ros2 launch escalates so): the reload is ignored, the stop finishes and flushes, exit 0', async () => {
    const dir = tempDir('reload-stop-');
    dirs.push(dir);
    const config = join(dir.path, 'edge.yaml');
    writeFileSync(config, YAML('r1'));
    const d = runDaemon(dir.path, config);
    await d.logged('daemon running');
    d.child.kill('SIGINT');
    // The stop is held at STOPPING=1 (see runDaemon) until the gate opens.
    await waitFor(() => d.notified().includes('STOPPING=1'), 'STOPPING=1');
    d.child.kill('SIGHUP');
    await d.logged('SIGHUP ignored: the daemon is stopping; start it again to use the config file as it is now');
    d.child.kill('SIGTERM');
    await d.logged(
      'already stopping (it ends within its budget); one more stop signal exits at once, without flushing',
    );
    writeFileSync(join(dir.path, 'gate'), '');
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(d.logs.map((l) => l.msg)).toContain('daemon stopped');
    expect(d.logs.map((l) => l.msg)).not.toContain('config reloaded');
  });
});

describe('SIGHUP before the daemon is running', () => {
  it('one that comes while the config is being read does not kill it, and is applied once it runs', async () => {
    const dir = tempDir('reload-early-');
    dirs.push(dir);
    // A FIFO holds the daemon in its first read of the config until the test writes it.
    const config = join(dir.path, 'edge.yaml');
    expect(spawnSync('mkfifo', [config]).status).toBe(0);
    const d = runDaemon(dir.path, config);
    const feed = async (text: string) => {
      const writer = await open(config, 'w'); // resolves once the daemon opened the FIFO to read it
      return { write: async () => (await writer.writeFile(text), await writer.close()) };
    };
    const first = await feed(YAML('r1'));
    d.child.kill('SIGHUP');
    await first.write();
    await d.logged('daemon running');
    // The reload reads the file again.
    await (await feed(YAML('r3'))).write();
    const reloaded = await d.logged('config reloaded');
    expect(reloaded.restarted).toEqual(expect.arrayContaining(['lakehouse']));
    writeFileSync(join(dir.path, 'gate'), '');
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
  });
});
