// A `central serve` in its own process, for tests that kill it: argv[2] is the settings as JSON, argv[3] the
// client id. Prints "ready" once connected.
import { silentLogger } from '../../daemon/log.ts';
import { startCentralServe } from '../../central/serve.ts';
import type { CentralServeConfig } from '../../central/config.ts';

const settings = JSON.parse(process.argv[2]!) as CentralServeConfig;
const serve = await startCentralServe(settings, { log: silentLogger(), clientId: process.argv[3]! });
const timer = setInterval(() => {
  if (!serve.intake.connected) return;
  clearInterval(timer);
  process.stdout.write('ready\n');
}, 20);
process.on('SIGTERM', () => void serve.close().then(() => process.exit(0)));
