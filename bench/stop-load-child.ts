// A child process for stop-under-load.bench.ts: loads one surface of a daemon until it is killed, so the
// load's own work (parsing replies, opening sockets) is not done on the daemon's event loop.
//   node --import tsx stop-load-child.ts <surface> <api url> <foxglove url>
import { get, request } from 'node:http';
import { WebSocket } from 'ws';

const [surface, url, foxglove] = process.argv.slice(2) as [string, string, string];

function httpOnce(path: string, method = 'GET', body?: string): Promise<void> {
  return new Promise((resolve) => {
    const req = request(
      `${url}${path}`,
      { method, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', () => resolve());
      },
    );
    req.on('error', () => resolve());
    req.end(body);
  });
}

/** The attack of the issue: a client that asks for the whole journal and reads it. */
function replayOnce(): Promise<void> {
  return new Promise((resolve) => {
    const req = get(`${url}/events?last_event_id=0`, { headers: { accept: 'text/event-stream' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > 4 * 1024 * 1024) req.destroy();
      });
      res.on('close', () => resolve());
    });
    req.on('error', () => resolve());
  });
}

function foxgloveOnce(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(foxglove, ['foxglove.websocket.v1']);
    let id = 0;
    ws.on('message', (data, binary) => {
      if (binary) return;
      const message = JSON.parse(String(data)) as { op: string; channels?: { id: number }[] };
      if (message.op !== 'advertise') return;
      ws.send(
        JSON.stringify({
          op: 'subscribe',
          subscriptions: (message.channels ?? []).map((c) => ({ id: id++, channelId: c.id })),
        }),
      );
      setTimeout(() => ws.close(), 50);
    });
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

const LOADS: Record<string, { inFlight: number; once: () => Promise<void> }> = {
  api: {
    inFlight: 128,
    once: () => httpOnce(['/status', '/metrics', '/runs', '/healthz'][Math.floor(Math.random() * 4)]!),
  },
  sse: { inFlight: 500, once: replayOnce },
  foxglove: { inFlight: 64, once: foxgloveOnce },
  query: {
    inFlight: 32,
    once: () => httpOnce('/query', 'POST', JSON.stringify({ sql: 'SELECT sum(range) FROM range(2000000)' })),
  },
};

const load = LOADS[surface];
if (!load) throw new Error(`unknown surface ${surface}: one of ${Object.keys(LOADS).join(', ')}`);
let done = 0;
const worker = async (): Promise<never> => {
  for (;;) {
    await load.once();
    if (++done === 1) process.stdout.write('loading\n');
  }
};
for (let i = 0; i < load.inFlight; i++) void worker();
