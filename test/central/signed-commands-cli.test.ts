import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { centralDaemon } from './central-harness.ts';

/**
 * The operator's side of signed commands: `central keygen` makes central's key and prints the line a robot pins;
 * `central intent` and `central config push` sign with it, and a robot that pins it takes only what they signed.
 */
describe('central keygen, and central intent and config push signing with its key', () => {
  const cleanups = cleanupStack();

  it(
    'writes a key once, and the robot pinning it takes what is signed with it and refuses the unsigned',
    { timeout: 240_000 },
    async () => {
      const dir = tempDir('central-keygen-');
      cleanups.push(dir.cleanup);
      const keyFile = join(dir.path, 'central-command.pem');
      const made = await runCli(['central', 'keygen', '--out', keyFile, '--json']);
      expect(made.code, made.stderr).toBe(0);
      const { public_key: publicKey } = JSON.parse(made.stdout) as { public_key: string };
      expect(publicKey).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(statSync(keyFile).mode & 0o777).toBe(0o600);
      const again = await runCli(['central', 'keygen', '--out', keyFile]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/exists: every robot that pinned its public key would refuse a new one/);

      const broker = await startBroker();
      cleanups.push(broker.cleanup);
      // The key's .pub file, as a robot's config may name it.
      const started = await centralDaemon(broker.url, {}, { command_keys: [`${keyFile}.pub`] });
      cleanups.push(started.stop);
      const send = (...args: string[]) =>
        runCli(['central', ...args, '--robot', 'tb3-1', '--broker', broker.url, '--fleet', 'lab', '--timeout-s', '20']);

      const signed = await send('intent', 'stop', '--command-key', keyFile);
      expect(signed.code, signed.stdout + signed.stderr).toBe(0);
      expect(signed.stdout).toMatch(/ack accepted/);
      const unsigned = await send('intent', 'stop');
      expect(unsigned.code).toBe(1);
      expect(unsigned.stderr).toMatch(/sending unsigned/);
      expect(unsigned.stdout).toMatch(/ack refused: unsigned: /);

      const keys = join(dir.path, 'keys.yaml');
      writeFileSync(keys, 'journal:\n  retain_days: 3\n');
      const config = await send('config', 'push', keys, '--command-key', keyFile);
      expect(config.code, config.stdout + config.stderr).toBe(0);
      expect(config.stdout).toMatch(/ack applied/);
      expect(started.daemon.config.journal.retain_days).toBe(3);
    },
  );
});
