import { get, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import type { RobotHaltOutcome } from '../../daemon/contract/halt.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { recordCmdVel, type PlanarTwist } from '../helpers/cmd-vel.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { PORTS } from '../../daemon/contract/index.ts';

// The operator's stop is answered, and the zero Twist sent, whatever else the daemon is asked meanwhile:
// each surface a peer can load (the HTTP API, event stream replays, Foxglove clients, lakehouse queries) is
// flooded in turn while stops go in over HTTP and as the bus query agent/stop. How long a stop takes under
// that load is measured by bench/stop-under-load.bench.ts; here it must complete, every time.

let daemon: Daemon;
let url: string;
let foxglove: string;
let twists: PlanarTwist[];
let stopDaemon: () => Promise<void>;

beforeAll(async () => {
  const started = await startDaemon(
    { sim: { enabled: false }, retention: { enabled: false }, api: { port: 0 }, foxglove: { port: 0 } },
    'stop-load-',
  );
  ({ daemon, stop: stopDaemon } = started);
  url = daemon.ports.get(PORTS.api)!.url!;
  foxglove = daemon.ports.get(PORTS.foxglove)!.url!;
  twists = recordCmdVel(daemon.bus, started.codec);
  // A journal with history to replay: what a month of a robot's runs leaves, in small.
  const text = 'a tool call and its result '.repeat(10);
  await Promise.all(Array.from({ length: 5000 }, (_, i) => daemon.journal.append('agent_event', { i, text })));
}, 60_000);
afterAll(() => stopDaemon?.());

/** Load that keeps `inFlight` operations going until stopped; `done` counts the ones that finished. */
interface Flood {
  done: number;
  stop(): Promise<void>;
}

function flood(inFlight: number, once: () => Promise<void>): Flood {
  let running = true;
  const state = { done: 0 };
  const worker = async (): Promise<void> => {
    while (running) {
      await once().catch(() => {}); // a refused or cut request is load all the same
      state.done++;
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  return {
    get done() {
      return state.done;
    },
    stop: async () => {
      running = false;
      await Promise.all(workers);
    },
  };
}

/** One HTTP request, its answer read whole. */
function httpOnce(path: string, method = 'GET', body?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method, headers: body ? { 'content-type': 'application/json' } : {} },
      (res) => {
        res.resume();
        res.on('end', resolve);
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** An event stream client replaying the journal from its start; it leaves after 64 KB. */
function replayOnce(): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = get(`${url}/events?last_event_id=0`, { headers: { accept: 'text/event-stream' } }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes > 64 * 1024) req.destroy();
      });
      res.on('close', resolve);
    });
    req.on('error', reject);
  });
}

/** A Foxglove client that connects, subscribes to every channel it is advertised, and leaves. */
function foxgloveOnce(): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(foxglove, ['foxglove.websocket.v1']);
    let id = 0;
    ws.on('message', (data, binary) => {
      if (binary) return;
      const message = JSON.parse(String(data)) as { op: string; channels?: { id: number }[] };
      if (message.op !== 'advertise') return;
      const subscriptions = (message.channels ?? []).map((c) => ({ id: id++, channelId: c.id }));
      ws.send(JSON.stringify({ op: 'subscribe', subscriptions }));
      setImmediate(() => ws.close());
    });
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

const SURFACES: Record<string, () => Flood> = {
  'HTTP API requests': () =>
    flood(64, () => httpOnce(['/status', '/metrics', '/runs', '/healthz'][Math.floor(Math.random() * 4)]!)),
  'event stream replays': () => flood(300, replayOnce),
  'Foxglove clients': () => flood(32, foxgloveOnce),
  'lakehouse queries': () =>
    flood(16, () => httpOnce('/query', 'POST', JSON.stringify({ sql: 'SELECT sum(range) FROM range(300000)' }))),
};

async function busStop(by: string): Promise<RobotHaltOutcome> {
  const payload = new TextEncoder().encode(JSON.stringify({ by }));
  const reply = await daemon.bus.query('agent/stop', { encoding: 'application/json', payload });
  return JSON.parse(new TextDecoder().decode(reply.payload)) as RobotHaltOutcome;
}

async function httpStop(by: string): Promise<{ status: number; outcome: RobotHaltOutcome }> {
  const res = await fetch(`${url}/stop`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ by }),
  });
  return { status: res.status, outcome: (await res.json()) as RobotHaltOutcome };
}

describe("the operator's stop under load", () => {
  for (const [surface, start] of Object.entries(SURFACES)) {
    it(`is answered, and the zero Twist sent, while ${surface} flood the daemon`, { timeout: 120_000 }, async () => {
      const load = start();
      try {
        await waitFor(() => load.done >= 20, `the flood of ${surface} to be under way`, 60_000);
        for (let i = 0; i < 3; i++) {
          // Released first, so this round's two stops latch afresh: the first of them holds the latch, and the
          // other is answered with that same latch (a stop while latched keeps the first).
          const released = await fetch(`${url}/stop/release`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ by: 'load-test' }),
          });
          expect(released.status).toBe(200);
          const zerosBefore = twists.filter((t) => t.linear === 0 && t.angular === 0).length;
          const [overHttp, overBus] = await Promise.all([httpStop(`load-http-${i}`), busStop(`load-bus-${i}`)]);
          expect(overHttp.status).toBe(200);
          expect(overHttp.outcome).toMatchObject({
            topic: '/cmd_vel',
            latched: expect.objectContaining({ by: expect.stringMatching(new RegExp(`^load-(http|bus)-${i}$`)) }),
          });
          expect(overBus).toMatchObject({ topic: '/cmd_vel', latched: { since: overHttp.outcome.latched!.since } });
          expect(twists.filter((t) => t.linear === 0 && t.angular === 0).length).toBeGreaterThanOrEqual(
            zerosBefore + 2,
          );
        }
        const during = load.done;
        await waitFor(() => load.done > during, `the flood of ${surface} to go on after the stops`, 60_000);
      } finally {
        await load.stop();
      }
    });
  }
});
