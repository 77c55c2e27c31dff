// A daemon in a process of its own, for tests that kill it (kill -9):
// `node --import tsx daemon-child.ts <config.yaml>`. Runs in the config's directory; says "started" on stdout
// once the daemon has started.
import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { pino } from 'pino';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';

const file = process.argv[2]!;
const daemon = new Daemon({
  config: parseConfigText(readFileSync(file, 'utf8'), file, {}),
  log: pino({ level: process.env.CHILD_LOG ?? 'silent' }),
  cwd: dirname(file),
});
await daemon.start();
process.stdout.write('started\n');
process.on('SIGTERM', () => void daemon.close().then(() => process.exit(0)));
