// `central serve` stopped while its fleet page's API is being read, in a process of its own: before the lake's
// close waited for the statements on it, the first stop crashed the process (SIGSEGV: DuckDB freed the reader's
// connection under a running /api/events query). argv[2]: the settings as JSON; argv[3]: rounds. Prints
// "stopped N" after each round. Run by lake-close-inflight.test.ts.
import type { CentralServeConfig } from '../../central/config.ts';
import { startCentralServe } from '../../central/serve.ts';
import { silentLogger } from '../../daemon/log.ts';

const settings = JSON.parse(process.argv[2]!) as CentralServeConfig;
for (let round = 0; round < Number(process.argv[3]); round++) {
  const serve = await startCentralServe(
    { ...settings, http: { ...settings.http, enabled: true, port: 0 } },
    { log: silentLogger(), clientId: `central-stop-polled-${round}` },
  );
  let polling = true;
  // The page reads /api/events every few seconds; eight readers at once keep one running at the stop.
  const poll = async (): Promise<void> => {
    while (polling)
      await fetch(`${serve.httpUrl}/api/events?limit=100`)
        .then((r) => r.text())
        .catch(() => undefined);
  };
  const pollers = Array.from({ length: 8 }, poll);
  // The close comes at a different moment of the polling each round: the moments are the cases.
  // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
  await new Promise((resolve) => setTimeout(resolve, 150 + round * 20));
  await serve.close();
  polling = false;
  await Promise.all(pollers);
  process.stdout.write(`stopped ${round}\n`);
}
