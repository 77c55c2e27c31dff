import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/index.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';

/**
 * Two daemons on two data dirs, and a user in a third directory whose config names the port one of them
 * listens on: every command finds its daemon the same way, says which one it addressed, and none acts on
 * a daemon its config does not name.
 */
describe('which daemon a command reaches', () => {
  const cleanups = cleanupStack();

  async function twoDaemons() {
    const a = await startDaemon({ api: { port: 0 }, foxglove: { port: 0 }, log: { level: 'warn' } }, 'daemon-a-');
    cleanups.push(a.stop);
    const b = await startDaemon(
      { api: { port: 0 }, foxglove: { enabled: false }, log: { level: 'warn' } },
      'daemon-b-',
    );
    cleanups.push(b.stop);
    const aUrl = readApiFile(join(a.dir, 'data'))!.url.replace('0.0.0.0', '127.0.0.1');
    const aPort = Number(new URL(aUrl).port);
    const foxglove = a.daemon.status().components.foxglove?.details?.url as string;
    const elsewhere = tempDir('which-daemon-');
    cleanups.push(elsewhere.cleanup);
    // The user's config in a directory with no daemon: its api and foxglove ports are daemon A's.
    const config = join(elsewhere.path, 'edge.yaml');
    writeFileSync(
      config,
      `data_dir: ./data\napi:\n  port: ${aPort}\nfoxglove:\n  port: ${Number(new URL(foxglove).port)}\n`,
    );
    // Daemon B's config names the same port, but B wrote where it listens to its run/api.json.
    const bConfig = join(b.dir, 'edge.yaml');
    writeFileSync(bConfig, `data_dir: ${join(b.dir, 'data')}\napi:\n  port: ${aPort}\nfoxglove:\n  enabled: false\n`);
    return { a, b, aUrl, config, bConfig, cwd: elsewhere.path };
  }

  const latched = (daemon: { status(): { components: Record<string, { details?: Record<string, unknown> }> } }) =>
    daemon.status().components.stop?.details?.stop_latch ?? null;

  it('refuses every command when the daemon at the config port is another data dir, and acts on none', async () => {
    const { a, config, cwd, aUrl } = await twoDaemons();
    const other = `belongs to the daemon of ${join(a.dir, 'data')}`;
    for (const args of [
      ['status'],
      ['stop'],
      ['topic', 'list'],
      ['topic', 'info', '/rosout'],
      ['bag', 'split'],
      ['intent', 'go to the dock'],
    ]) {
      const result = await runMain([...args, '--config', config], { cwd });
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toContain(other);
      expect(result.stderr).toContain(`--url ${aUrl}`);
    }
    expect(latched(a.daemon)).toBeNull();
  });

  it('stop says which daemon it stopped: the one of its config, found by its run/api.json', async () => {
    const { a, b, bConfig, cwd } = await twoDaemons();
    const stopped = await runMain(['stop', '--config', bConfig], { cwd });
    expect(stopped.code).toBe(0);
    const bUrl = readApiFile(join(b.dir, 'data'))!.url;
    expect(stopped.stdout.split('\n')[0]).toBe(
      `daemon: ${join(b.dir, 'data')} (pid ${process.pid}, ${bUrl.replace('0.0.0.0', '127.0.0.1')})`,
    );
    expect(latched(b.daemon)).not.toBeNull();
    expect(latched(a.daemon)).toBeNull();
    const status = await runMain(['status', '--config', bConfig], { cwd });
    expect(status.stdout).toContain(`daemon: ${join(b.dir, 'data')} (pid ${process.pid}, api `);
    expect(status.stdout).toContain('ROBOT STOPPED');
  });

  it('--url reaches whichever daemon answers there, and status and stop say whose it is', async () => {
    const { a, b, config, cwd, aUrl } = await twoDaemons();
    const status = await runMain(['status', '--config', config, '--url', aUrl], { cwd });
    expect(status.stdout).toContain(`daemon: ${join(a.dir, 'data')} (pid ${process.pid}, api ${aUrl})`);
    const stopped = await runMain(['stop', '--config', config, '--url', aUrl], { cwd });
    expect(stopped.code, stopped.stderr).toBe(0);
    expect(stopped.stdout.split('\n')[0]).toBe(`daemon: ${join(a.dir, 'data')} (pid ${process.pid}, ${aUrl})`);
    expect(latched(a.daemon)).not.toBeNull();
    expect(latched(b.daemon)).toBeNull();
  });
});
