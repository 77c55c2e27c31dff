// Closes central's fleet lake while statements still run on its connections, in a process of its own: before
// close() waited for them, DuckDB freed the connection under a running statement and the process died of SIGSEGV.
// argv[2]: the settings as JSON. Prints one JSON line: what each statement and the close came to.
import type { CentralServeConfig } from '../../central/config.ts';
import { FleetLake } from '../../central/lake.ts';
import { errorText } from '../../daemon/util/index.ts';

/** Long enough to be running when close() is called, short enough for a transaction to finish. */
const SLOW_READ = 'SELECT sum(range % 7) FROM range(3000000000)';
const SLOW_WRITE = 'SELECT sum(range % 7)::BIGINT AS s FROM range(150000000)';

const settled = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'answered',
    (error: unknown) => `refused: ${errorText(error).split('\n')[0]}`,
  );

const lake = await FleetLake.open(JSON.parse(process.argv[2]!) as CentralServeConfig);
const reads = [1, 2, 3].map(() => settled(lake.reader.runAndReadAll(SLOW_READ)));
const write = settled(lake.transaction((c) => c.runAndReadAll(SLOW_WRITE)));
const fleet = settled(lake.fleetQuery(SLOW_READ));
// Every statement is on its way to DuckDB's threads (the fleet query still connecting) when the close comes.
// The close comes while statements are in flight: any moment of it is a case.
// eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
await new Promise((resolve) => setTimeout(resolve, 50));
const closing = lake.close();
const after = await settled(lake.reader.runAndReadAll('SELECT 1'));
const afterWrite = await settled(lake.transaction((c) => c.run('SELECT 1')));
await closing;
process.stdout.write(
  `${JSON.stringify({ reads: await Promise.all(reads), write: await write, fleet: await fleet, after, afterWrite })}\n`,
);
