// `central serve` as an operator runs it, until systemd's SIGTERM or a Ctrl-C: it says in its log that it stops and
// that it has stopped, and exits 0, also when the signal comes while its broker connection is still opening.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startCli, tempDir } from '../helpers/cli.ts';
import { testCommandKeyFile } from '../helpers/command-key.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { duckdbExtension } from '../peers/index.ts';

const cleanups = cleanupStack(afterAll);

describe('central serve and its stop signals', () => {
  it('logs the SIGTERM and its stop, and exits 0', async () => {
    const extensions = dirname(duckdbExtension('ducklake'));
    const broker = await startBroker();
    cleanups.push(() => broker.cleanup());
    const dir = tempDir('central-serve-signals-');
    cleanups.push(dir.cleanup);
    const config = join(dir.path, 'central.yaml');
    writeFileSync(
      config,
      [
        'mqtt:',
        `  url: ${broker.url}`,
        '  fleet: lab',
        `  command_key: "${testCommandKeyFile(dir.path)}"`,
        'lakehouse:',
        `  catalog: "${dir.path}/fleet.ducklake"`,
        `  data_path: "${dir.path}/lake-data/"`,
        `  extension_directory: "${extensions}"`,
        'http:',
        '  enabled: false',
        '',
      ].join('\n'),
    );
    const serve = startCli(['central', 'serve', '--config', config], { cwd: dir.path });
    cleanups.push(() => void serve.child.kill('SIGKILL'));
    await serve.printed('central serve: fleet lab', 60_000);

    // At once: the broker connection may still be opening, and must not outlive the stop.
    serve.child.kill('SIGTERM');
    expect(await serve.ended, serve.out.stderr).toBe(0);
    const { stderr } = serve.out;
    const lines = stderr
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { msg: string; signal?: string });
    const requested = lines.findIndex((l) => l.msg.startsWith('central serve: stop requested'));
    expect(requested, stderr).toBeGreaterThanOrEqual(0);
    expect(lines[requested]!.signal).toBe('SIGTERM');
    // the last word: nothing (a broker connection that opened after the stop) goes on past it
    expect(lines.at(-1)?.msg, stderr).toBe('central serve: stopped');
  });
});
