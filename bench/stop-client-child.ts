// The operator's client for stop-under-load.bench.ts, in a process of its own as a real one is (curl, the CLI,
// a status page): its own parsing is not done on the daemon's event loop. Sends `n` POST /stop, each followed
// by a GET of the floor server (a bare HTTP server on the daemon's event loop that answers at once), 50 ms
// apart, and prints one JSON line: each request's send and answer times in ns of CLOCK_MONOTONIC
// (process.hrtime, the same clock in every process of the machine). It runs real time (SCHED_FIFO 50) where allowed,
// else at nice -10: the operator's client is on another machine (a laptop, a pendant, an e-stop box), whose CPU the
// load generated here does not take, so the figures are the daemon's side of the stop and not this process waiting
// for one of the two cores the load fills; the floor is timed by the same client.
//   node --import tsx stop-client-child.ts <api url> <floor url> <n>
import { request } from 'node:http';
import { applyThreadScheduling } from '../daemon/util/index.ts';

// Refused without CAP_SYS_NICE: then at the default, and the load generator's processes compete with it for the cores.
const scheduling = applyThreadScheduling({ policy: 'fifo', rtPriority: 50, nice: -10 });

const [url, floor, count] = process.argv.slice(2) as [string, string, string];

/** One request on a fresh connection (as curl makes it); resolves with [sent, answered] in ns. */
function timed(target: string, method: string, body?: string): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const sent = process.hrtime.bigint();
    const req = request(
      target,
      { method, agent: false, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        if (res.statusCode !== 200) reject(new Error(`${method} ${target} answered ${res.statusCode}`));
        res.resume();
        res.on('end', () => resolve([sent.toString(), process.hrtime.bigint().toString()]));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

// One unmeasured request first: a fresh process's first request pays for its own HTTP client's first use (code
// compiled, the parser made), which is the client's cost and not the daemon's, and would fall on the first stop.
await timed(floor, 'GET');
const stops: [string, string][] = [];
const floors: [string, string][] = [];
for (let i = 0; i < Number(count); i++) {
  stops.push(await timed(`${url}/stop`, 'POST', '{"by":"bench"}'));
  await new Promise((r) => setTimeout(r, 25));
  floors.push(await timed(floor, 'GET'));
  await new Promise((r) => setTimeout(r, 25));
}
process.stdout.write(`${JSON.stringify({ stops, floors, scheduling: scheduling.summary })}\n`);
