import pino from 'pino';
import { ActionGoals } from '../daemon/actions/action-goals.ts';
import { BusActionClient } from '../daemon/actions/action-client.ts';
import { BusActionServer } from '../daemon/actions/action-server.ts';
import { Bus, DefinitionsRegistry, MessageCodec } from '../daemon/bus/index.ts';
import { percentile, type BenchResult } from './bench.ts';

// An action on the bus, as rcl_action runs it (daemon/actions): send_goal until accepted, and cancel until the
// goal ends canceled (the cancel_goal service, the server's status, get_result's answer), each beside the bare
// bus query it is built on (one request, one reply), measured in the same run. What it shows is the protocol's
// own cost (goal ids, JSON payloads, the status topic, the registry of goals the stop cancels), not a network's.

const N = Number(process.env.ACTIONS_N ?? 2000);
const FIB = 'test_msgs/action/Fibonacci';

function sorted(xs: number[]): number[] {
  return xs.sort((a, b) => a - b);
}

export async function run(): Promise<BenchResult[]> {
  const bus = new Bus();
  const codec = new MessageCodec(new DefinitionsRegistry({ distro: 'jazzy' }));
  const log = pino({ level: 'silent' });
  // A server whose goals run until cancelled: what a cancel measures is the cancel, not a goal that ended.
  const server = new BusActionServer({
    bus,
    codec,
    name: '/bench',
    type: FIB,
    log,
    handler: {
      // A goal cancelled before it ran reaches execute with its signal aborted already (action-server.ts).
      execute: (_goal, { signal }) =>
        new Promise((resolve) => {
          const canceled = () => resolve({ state: 'canceled', result: { sequence: [] } });
          if (signal.aborted) canceled();
          else signal.addEventListener('abort', canceled);
        }),
    },
  });
  const goals = new ActionGoals();
  const client = new BusActionClient({ bus, codec, name: '/bench', type: FIB, track: goals });
  const unserve = bus.serve('/bare', async (request) => request);
  const payload = { encoding: 'application/json', payload: new TextEncoder().encode('{"order":5}') };
  try {
    const accepted: number[] = [];
    const canceled: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < N + 100; i++) {
      const t0 = performance.now();
      const handle = (await client.sendGoal({ order: 5 }))!;
      const t1 = performance.now();
      const ended = handle.result({ timeoutMs: 10_000 });
      await handle.cancel();
      const outcome = await ended;
      const t2 = performance.now();
      if (outcome.state !== 'canceled') throw new Error(`goal ended ${outcome.state}, not canceled: ${outcome.reason}`);
      const b0 = performance.now();
      await bus.query('/bare', payload);
      const b1 = performance.now();
      if (i < 100) continue; // warm-up
      accepted.push((t1 - t0) * 1000);
      canceled.push((t2 - t1) * 1000);
      bare.push((b1 - b0) * 1000);
    }
    sorted(accepted);
    sorted(canceled);
    sorted(bare);
    const row = (what: string, xs: number[], queries: number): BenchResult => ({
      name: `action on the bus: ${what} (p50)`,
      ours: percentile(xs, 50),
      baseline: {
        name: `${queries} bare bus quer${queries === 1 ? 'y' : 'ies'} (p50 x ${queries})`,
        value: percentile(bare, 50) * queries,
      },
      unit: 'us',
      better: 'lower',
      notes: [
        `p50 ${percentile(xs, 50).toFixed(1)} us, p99 ${percentile(xs, 99).toFixed(1)} us, max ${xs.at(-1)!.toFixed(1)} us; ` +
          `bare query p50 ${percentile(bare, 50).toFixed(1)} us, p99 ${percentile(bare, 99).toFixed(1)} us; ${N} goals`,
        // What the protocol adds: each state change publishes the status of every goal the server keeps (up to
        // 256 finished ones, as rcl_action keeps them for get_result), encoded as CDR.
        'the issue sets no goal for this figure; most of it is the status array every state change publishes',
      ],
    });
    // send_goal is one query; a cancel is cancel_goal plus get_result's answer (asked before the cancel).
    return [row('send_goal to accepted', accepted, 1), row('cancel to canceled result', canceled, 2)];
  } finally {
    unserve();
    client.close();
    server.close();
    bus.close();
  }
}
