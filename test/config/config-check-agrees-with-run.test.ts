import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// What `run` refuses, `config check` and a reload (SIGHUP) refuse too, with the same words: a config that
// passed the check and then failed at `run` was retried for ever by the supervisor. A config error is not a
// transient fault: `run` exits 2 before starting anything.

const cleanups = cleanupStack();

const PREFIX = 'data_dir: ./data\nsim:\n  enabled: false\nlakehouse:\n  enabled: false\n';

const EXPOSED: Record<string, { yaml: string; message: string }> = {
  'the API bound off loopback without api.token': {
    yaml: 'api:\n  host: 0.0.0.0\n  port: 0\nfoxglove:\n  port: 0\n',
    message: 'api.host: 0.0.0.0 is not a loopback address: set api.token',
  },
  'the Foxglove bridge bound off loopback without allow_remote': {
    yaml: 'api:\n  port: 0\nfoxglove:\n  host: 0.0.0.0\n  port: 0\n',
    message: 'foxglove.host: 0.0.0.0 is not a loopback address: the Foxglove protocol has no authentication',
  },
};

function configFile(yaml: string): { dir: string; file: string } {
  const dir = tempDir('config-agrees-');
  cleanups.push(dir.cleanup);
  const file = join(dir.path, 'edge.yaml');
  writeFileSync(file, `${PREFIX}${yaml}`);
  return { dir: dir.path, file };
}

describe('config check, run and reload agree', () => {
  for (const [what, { yaml, message }] of Object.entries(EXPOSED)) {
    it(`${what}: config check refuses it, run exits 2 with the same message, a reload keeps the running config`, async () => {
      const { dir, file } = configFile(yaml);
      const check = await runMain(['config', 'check', '--config', file], { cwd: dir });
      expect(check.code).toBe(2);
      expect(check.stdout + check.stderr).toContain(message);

      const run = await runMain(['run', '--config', file], { cwd: dir });
      expect(run.code).toBe(2);
      expect(run.stdout + run.stderr).toContain(message);

      // A running daemon whose file is changed to this and reloaded: refused, the running config stays.
      const good = configFile('api:\n  port: 0\nfoxglove:\n  port: 0\n');
      const daemon = new Daemon({
        config: loadConfigFile(good.file, {}).config,
        configFile: good.file,
        log: silentLogger(),
        cwd: good.dir,
      });
      await daemon.start();
      cleanups.push(() => daemon.close());
      writeFileSync(good.file, `${PREFIX}${yaml}`);
      expect(await daemon.reloadFile({})).toMatchObject({ ok: false, error: expect.stringContaining(message) });
      expect(daemon.config.api.host).toBe('127.0.0.1');
      expect(daemon.config.foxglove.host).toBe('127.0.0.1');
    });
  }

  it('passes the same servers bound off loopback with api.token and foxglove.allow_remote', async () => {
    const { dir, file } = configFile(
      'api:\n  host: 0.0.0.0\n  token: s3cret\n  port: 0\nfoxglove:\n  host: 0.0.0.0\n  allow_remote: true\n  port: 0\n',
    );
    const check = await runMain(['config', 'check', '--config', file], { cwd: dir });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
