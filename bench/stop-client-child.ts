// The operator's client for stop-under-load.bench.ts, in a process of its own as a real one is (curl, the CLI,
// a status page): its own parsing is not done on the daemon's event loop. Sends `n` POST /stop, each followed
// by a GET of the floor server (a bare HTTP server on the daemon's event loop that answers at once), 50 ms
// apart, and prints one JSON line: each request's send and answer times in ns of CLOCK_MONOTONIC
// (process.hrtime, the same clock in every process of the machine). It runs real time (SCHED_FIFO 50) where allowed,
// else at nice -10: the operator's client is on another machine (a laptop, a pendant, an e-stop box), whose CPU the
// load generated here does not take, so the figures are the daemon's side of the stop and not this process waiting
// for one of the two cores the load fills; the floor is timed by the same client.
//   node --import tsx stop-client-child.ts <url> <floor url> <n> [how] [page origin]
// `how`: `post` (POST /stop, the default), `report` (POST /stop?report=full to the stop listener: the CLI's request),
// `page` (the same with the headers a browser sends from the API's status page at `page origin`: its Origin,
// Sec-Fetch-Site same-site), `mcp` (the stop tool of an MCP session at <url>, the MCP endpoint, as an agent calls it).
import { request } from 'node:http';
import { applyProcessScheduling, sleep } from '../daemon/util/index.ts';

// Refused without CAP_SYS_NICE: then at the default, and the load generator's processes compete with it for the cores.
// Every thread of the process, V8's garbage collection helpers too: an MCP client's SDK allocates enough that its
// scavenges, which wait on those helpers, fell behind the load at the default priority (13.5 ms p99 under Foxglove
// load against 1.9 ms in a quiet round).
const scheduling = { summary: applyProcessScheduling({ policy: 'fifo', rtPriority: 50, nice: -10 }) };

const [url, floor, count, how = 'post', origin = ''] = process.argv.slice(2) as [
  string,
  string,
  string,
  string?,
  string?,
];

/** One request on a fresh connection (as curl makes it); resolves with [sent, answered] in ns. */
function timed(
  target: string,
  method: string,
  body?: string,
  headers: Record<string, string> = {},
): Promise<[string, string]> {
  return new Promise((resolve, reject) => {
    const sent = process.hrtime.bigint();
    const req = request(
      target,
      { method, agent: false, headers: body ? { 'content-type': 'application/json', ...headers } : headers },
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

/** One stop as `how` sends it; resolves with [sent, answered] in ns. */
async function stopper(): Promise<() => Promise<[string, string]>> {
  const body = '{"by":"bench"}';
  if (how === 'post') return () => timed(`${url}/stop`, 'POST', body);
  if (how === 'report') return () => timed(`${url}/stop?report=full`, 'POST', body);
  if (how === 'page') {
    const headers = { origin, 'sec-fetch-site': 'same-site' };
    return () => timed(`${url}/stop?report=full`, 'POST', body, headers);
  }
  if (how !== 'mcp') throw new Error(`stop-client-child: no such way to stop: ${how}`);
  const { Client } = await import('@modelcontextprotocol/sdk/client/index.js');
  const { StreamableHTTPClientTransport } = await import('@modelcontextprotocol/sdk/client/streamableHttp.js');
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(new StreamableHTTPClientTransport(new URL(url)));
  await client.listTools(); // the session's first request, unmeasured as the floor's is
  return async () => {
    const sent = process.hrtime.bigint();
    const result = await client.callTool({ name: 'stop', arguments: {} });
    if (result.isError) throw new Error(`the stop tool failed: ${JSON.stringify(result.content)}`);
    return [sent.toString(), process.hrtime.bigint().toString()];
  };
}

const stop = await stopper();
// One unmeasured request first: a fresh process's first request pays for its own HTTP client's first use (code
// compiled, the parser made), which is the client's cost and not the daemon's, and would fall on the first stop.
await timed(floor, 'GET');
const stops: [string, string][] = [];
const floors: [string, string][] = [];
for (let i = 0; i < Number(count); i++) {
  stops.push(await stop());
  await sleep(25);
  floors.push(await timed(floor, 'GET'));
  await sleep(25);
}
process.stdout.write(`${JSON.stringify({ stops, floors, scheduling: scheduling.summary })}\n`);
process.exit(0); // an MCP session's keep-alive socket would hold the process
