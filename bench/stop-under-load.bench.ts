import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { readApiFile } from '../daemon/api/index.ts';
import { PORTS } from '../daemon/contract/index.ts';
import { errorText, sleep, spawnTsWorker } from '../daemon/util/index.ts';
import { centralConfig, FLEET, PREFIX, ROBOT, waitOnline } from '../test/central/central-harness.ts';
import { testCommandKeyFile } from '../test/helpers/command-key.ts';
import { startDaemon } from '../test/helpers/daemon.ts';
import { startBroker } from '../test/helpers/mosquitto.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { ros2Peer } from '../test/peers/ros2.ts';
import { ZenohNetwork } from '../test/zenoh/zenoh-network.ts';
import { percentile, skippedResult, tail as tailOf, type BenchResult } from './bench.ts';
import type { ListenerRound } from './stop-listener-rounds.ts';
import {
  bridgeScheduler,
  mergedPath,
  pathRound,
  pathRows,
  STOP_PATHS,
  type PathTargets,
  type StopPath,
} from './stop-paths.ts';

// The operator's stop (POST /stop: answered, the zero Twist on /cmd_vel, and its stop.engaged event durable in the
// journal, what the lakehouse and central read) on a daemon whose journal holds
// 20,000 records, while another process floods one surface (stop-load-child.ts: 128 HTTP requests in
// flight, 500 event stream replays from seq 0, 64 Foxglove clients, 32 lakehouse queries), beside the same
// stop on the idle daemon. The operator's client is a process of its own (stop-client-child.ts), as curl or
// the CLI is, run real time where allowed since it stands for a client on another machine. The floor, measured in
// the same run and interleaved with the stops: a bare HTTP server on the daemon's event loop that answers at once.
// What it takes under a load is what the machine (2 cores shared with the load generator) and the daemon's event
// loop cost any request; the stop's own work is above it.
// Each row also says what the code before the stop owner gave (bench/stop-before-owner.json): recorded once from a
// worktree at that commit, on the same kind of loaded machine, not measured in this run, since that code's daemon
// lacks what this bench reads in-process; with load averages from 3 to 15 here, compare it as an order of magnitude.
// The same stops on the stop listener (POST /stop on its own thread and port, motion.stop.port) follow each round of
// the API's: answered as the client saw it, and zeroed when the stop reached the stop line (what the control loops'
// threads and the sim obey), as a thread of this process sleeping on the line saw it (stop-line-watcher.ts).

// Then each stop a user can press, from a client process of its own, beside the listener's in the same rounds
// (stop-paths.ts): the CLI's and the page's request to the listener, MCP's stop tool (on mcp_url, the listener's /mcp)
// and central's signed stop intent (through a mosquitto of this run, read by the stop connection's thread and the
// link), each to the stop line (central's also to the main thread's zero Twist), and answered; and a robot process's
// Zenoh get of agent/stop through the remote-api bridge, run real time as a robot's should be (and once at its default
// priority, to show why), and a ROS 2 e-stop node's call of motion.stop.ros_service (rclpy, real time as the other
// callers), where ROS 2 from PyPI is installed (test/peers/ros2: the test peer); where it is not, its rows say skipped
// and why.

const RECORDS = 20_000;
const STOPS = 40;
const RUNS = 3;
// STOP_BENCH_LOADS=idle,api: only those (to profile one).
const LOADS = (process.env.STOP_BENCH_LOADS ?? 'idle,api,sse,foxglove,query').split(',');

interface Times {
  /** ms from sending POST /stop to its answer, as the operator's client saw it. */
  answered: number[];
  /** ms from sending POST /stop to the zero Twist on the bus. */
  zeroed: number[];
  /** ms from sending POST /stop to its `stop.engaged` event durable in the journal. */
  durable: number[];
  /** ms from sending a GET to the bare server on the daemon's event loop to its answer. */
  floor: number[];
  /** ms from sending POST /stop to the stop listener to its answer. */
  listenerAnswered: number[];
  /** ms from sending POST /stop to the stop listener to the stop on the stop line. */
  listenerZeroed: number[];
  /** The daemon's event-loop delay p99 over the stops, ms (the worst round's). */
  loopDelayP99: number;
  /** Each stop a user can press: its stops' answers and zeros, each round's (merged: all, with the rounds). */
  paths: Partial<Record<StopPath, ListenerRound & { rounds?: readonly ListenerRound[] }>>;
  /** Each round's figures (merged rounds only). */
  rounds?: readonly Times[];
}

/** The figures before the stop owner, as recorded (bench/stop-before-owner.json): not measured in this run. */
interface Before {
  commit: string;
  recorded: string;
  machine: string;
  p99_ms: Record<string, { answered: number; zeroed: number }>;
  not_recorded: { idle: string; durable: string };
}

const BEFORE = JSON.parse(readFileSync(join(import.meta.dirname, 'stop-before-owner.json'), 'utf8')) as Before;

/** When the daemon's process saw each zero Twist and each stop's event durable (ns, CLOCK_MONOTONIC). */
interface Seen {
  zeros: bigint[];
  durable: bigint[];
  /** When each stop reached the stop line, in the order they did. */
  line: () => bigint[];
}

/** A thread that notes when each stop reaches the daemon's stop line; `times()` reads what it noted. */
function watchLine(line: SharedArrayBuffer) {
  const out = new BigInt64Array(new SharedArrayBuffer(8 * 100_000));
  const worker = spawnTsWorker(new URL('./stop-line-watcher.ts', import.meta.url), {
    workerData: { line, out: out.buffer },
  });
  worker.unref();
  const times = () => Array.from(out.subarray(1, 1 + Math.min(Number(Atomics.load(out, 0)), out.length - 1)));
  return { times, close: () => worker.terminate() };
}

/** A thread subscribed to `topic` that notes when each message reached it; resolves once it is subscribed. */
async function watchMqtt(url: string, topic: string) {
  const out = new BigInt64Array(new SharedArrayBuffer(8 * 100_000));
  const ready = new Int32Array(new SharedArrayBuffer(4));
  const worker = spawnTsWorker(new URL('./stop-mqtt-watcher.ts', import.meta.url), {
    workerData: { url, topic, out: out.buffer, ready: ready.buffer },
  });
  worker.unref();
  await waitFor(() => Atomics.load(ready, 0) === 1, 'the bare MQTT subscriber to subscribe');
  const times = () => Array.from(out.subarray(1, 1 + Math.min(Number(Atomics.load(out, 0)), out.length - 1)));
  return { times, close: () => worker.terminate() };
}

/** motion.stop.ros_service's name: the default. */
const ROS_SERVICE = '/auraison/stop';
/** The DDS domain of this run's ROS 2 nodes, away from the tests' (60 up). */
const ROS_DOMAIN = 97;

/**
 * ROS 2 from PyPI (the test peer's jazzy), its environment laid over this process's (the in-process daemon's stop
 * service node and the caller inherit it), or why the ROS path is skipped.
 */
function rosHere(): { python: string } | { skipped: string } {
  try {
    const peer = ros2Peer('jazzy');
    Object.assign(process.env, peer.env(ROS_DOMAIN));
    return { python: peer.python };
  } catch (error) {
    return { skipped: errorText(error) };
  }
}

/** What the stop listener's thread and the operator's client ran with (the kernel's words), for the notes. */
const scheduling = { listener: 'unknown', client: 'unknown', bridge: 'unknown' };

export async function run(): Promise<BenchResult[]> {
  const broker = await startBroker();
  // The robot's Zenoh graph (a router and the remote-api bridge), where agent/stop is a queryable.
  const zenoh = await ZenohNetwork.create();
  const cleanup = async () => {
    await zenoh.close();
    await broker.cleanup();
  };
  await zenoh.start().catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  const ros = rosHere();
  const bridge = bridgeScheduler(zenoh.bridgePid!);
  bridge.set('fifo');
  scheduling.bridge = bridge.summary();
  const started = await startDaemon(
    {
      robot: { id: ROBOT, fleet: FLEET },
      sim: { enabled: false },
      retention: { enabled: false },
      api: { port: 0 },
      foxglove: { port: 0 },
      // Central's stops come 40 a round: none refused for the link's rate (a refused one halts all the same).
      central: centralConfig(broker.url, { rate_limits: { intents_per_min: 1_000_000 } }),
      // central_connection: central's stops reach the stop line from a thread of their own.
      motion: {
        stop: {
          listener: true,
          central_connection: true,
          ...('python' in ros ? { ros_service: { process: true, python: ros.python, name: ROS_SERVICE } } : {}),
        },
      },
      zenoh: { enabled: true, endpoint: zenoh.wsUrl, queries: ['agent/stop'] },
    },
    'bench-stop-',
  ).catch(async (error: unknown) => {
    await cleanup();
    throw error;
  });
  await waitOnline(started.daemon);
  await waitFor(
    () =>
      (started.daemon.status().components.central!.details as { stop_connection?: { state?: string } }).stop_connection
        ?.state === 'connected',
    "central's stop connection to be up",
  );
  const floorServer = createServer((req, res) => {
    req.resume();
    res.end('{}');
  });
  await new Promise<void>((resolve) => floorServer.listen(0, '127.0.0.1', resolve));
  const floorUrl = `http://127.0.0.1:${(floorServer.address() as AddressInfo).port}/`;
  const { daemon, codec } = started;
  const watcher = watchLine(daemon.haltAuthority.haltLine);
  const bare = await watchMqtt(broker.url, `${PREFIX}/intents`);
  try {
    const url = daemon.ports.get(PORTS.api)!.url!;
    const file = readApiFile(daemon.dataDir)!;
    const [stopUrl, mcpUrl] = [file.stop_url!, file.mcp_url!];
    const api = daemon.status().components.api!.details as { stop_listener: { scheduling: string } };
    scheduling.listener = api.stop_listener.scheduling;
    const foxglove = daemon.ports.get(PORTS.foxglove)!.url!;
    const seen: Seen = { zeros: [], durable: [], line: watcher.times };
    daemon.bus.subscribe({
      name: 'bench',
      topic: '/cmd_vel',
      handler: (m) => {
        const t = codec.decode<{ linear: { x: number }; angular: { z: number } }>(m.type, m.data);
        if (t.linear.x === 0 && t.angular.z === 0) seen.zeros.push(process.hrtime.bigint());
      },
    });
    // Called once a record is durable: the stop's event as an audit reads it, in the lakehouse or at central.
    daemon.journal.subscribe((record) => {
      if (record.kind === 'agent_event' && (record.data as { kind?: string }).kind === 'stop.engaged')
        seen.durable.push(process.hrtime.bigint());
    });
    const text = 'a tool call and its result '.repeat(10);
    for (let i = 0; i < RECORDS; i += 1000) {
      await Promise.all(
        Array.from({ length: 1000 }, (_, k) => daemon.journal.append('agent_event', { i: i + k, text })),
      );
    }
    // RUNS rounds of STOPS under each load (one load process): the tails are over all of them, and each
    // round's p99 is shown with the best and the worst.
    const keyFile = testCommandKeyFile(started.dir);
    const targets: PathTargets = {
      apiUrl: url,
      stopUrl,
      mcpUrl,
      floorUrl,
      broker: broker.url,
      prefix: PREFIX,
      keyFile,
      zenohUrl: zenoh.wsUrl,
      bridge: bridge.set,
    };
    const zeros = { line: seen.line, twist: () => seen.zeros, mqtt: bare.times };
    // Why a path is not measured (ROS 2 not here, or its round failed): its rows say so, and the others go on.
    const skipped: Partial<Record<StopPath, string>> = {};
    if ('skipped' in ros) skipped.ros = ros.skipped;
    else {
      targets.ros = { python: ros.python, service: ROS_SERVICE };
      await waitFor(
        () => daemon.status().components.ros_stop?.details?.serving === true,
        "motion.stop.ros_service's node to serve",
        60_000,
      ).catch((error: unknown) => (skipped.ros = errorText(error)));
    }
    const paths = () => (Object.keys(STOP_PATHS) as StopPath[]).filter((p) => skipped[p] === undefined);
    /** A round of `path`, or (ROS's, which may fail for want of its peer's parts) undefined, saying why in skipped. */
    const round = async (path: StopPath, n: number) => {
      if (path !== 'ros') return pathRound(path, n, targets, zeros);
      return pathRound(path, n, targets, zeros).catch((error: unknown) => {
        skipped.ros = `its round failed: ${errorText(error)}`;
        return undefined;
      });
    };
    const measure = async (): Promise<Times> => {
      const rounds: Times[] = [];
      for (let i = 0; i < RUNS; i++) {
        const api = await stops(url, floorUrl, seen);
        const listener = await stops(stopUrl, floorUrl, seen, 'listener');
        const times: Times = { ...api, listenerAnswered: listener.answered, listenerZeroed: listener.zeroed };
        for (const path of paths()) {
          const pathTimes = await round(path, STOPS);
          if (pathTimes) times.paths[path] = pathTimes;
        }
        rounds.push(times);
      }
      return merged(rounds);
    };
    await stops(url, floorUrl, seen); // warm-up
    await stops(stopUrl, floorUrl, seen, 'listener');
    // The listener's session declares agent/stop a moment after the daemon starts.
    await waitFor(
      () =>
        pathRound('zenoh', 1, targets, zeros).then(
          () => true,
          () => false,
        ),
      "agent/stop over Zenoh to be answered on the stop listener's thread",
      60_000,
    );
    for (const path of paths()) await round(path, 5);
    const results: BenchResult[] = [];
    for (const load of LOADS) {
      const before = loadavg()[0]!;
      const times = load === 'idle' ? await measure() : await underLoad(load, url, foxglove, measure);
      results.push(...rows(load, times, before, skipped));
    }
    return results;
  } finally {
    await watcher.close();
    await bare.close();
    floorServer.close();
    await started.stop();
    await cleanup();
  }
}

/**
 * STOPS stops from the operator's client, each beside a request to the floor server: to the API, or to the stop
 * listener (`zeroed` is then when each reached the stop line; there is no event of its own to wait for).
 */
async function stops(url: string, floorUrl: string, seen: Seen, to: 'api' | 'listener' = 'api'): Promise<Times> {
  const delay = monitorEventLoopDelay({ resolution: 5 });
  delay.enable();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'stop-client-child.ts'), url, floorUrl, String(STOPS)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  delay.disable();
  if (code !== 0) throw new Error(`the operator's client exited with ${code}`);
  const parsed = JSON.parse(out) as { stops: [string, string][]; floors: [string, string][]; scheduling: string };
  const { stops: sent, floors } = parsed;
  scheduling.client = parsed.scheduling;
  const lastSent = BigInt(sent.at(-1)![0]);
  for (const deadline = performance.now() + 2000; to === 'api' && !seen.durable.some((t) => t >= lastSent);) {
    if (performance.now() > deadline) break;
    await sleep(5);
  }
  const times: Times = {
    answered: [],
    zeroed: [],
    durable: [],
    floor: [],
    listenerAnswered: [],
    listenerZeroed: [],
    loopDelayP99: delay.percentile(99) / 1e6,
    paths: {},
  };
  const line = seen.line();
  for (const [from, answered] of sent) {
    const start = BigInt(from);
    times.answered.push(ms(BigInt(answered) - start));
    times.zeroed.push(after(to === 'api' ? seen.zeros : line, start));
    if (to === 'api') times.durable.push(after(seen.durable, start));
  }
  for (const [from, to] of floors) times.floor.push(ms(BigInt(to) - BigInt(from)));
  for (const list of [times.answered, times.zeroed, times.durable, times.floor]) list.sort((a, b) => a - b);
  return times;
}

/** Rounds as one: every sample, sorted, and each round's p99 answer. */
function merged(rounds: readonly Times[]): Times {
  const all = (pick: (t: Times) => number[]) => rounds.flatMap(pick).sort((a, b) => a - b);
  return {
    answered: all((t) => t.answered),
    zeroed: all((t) => t.zeroed),
    durable: all((t) => t.durable),
    floor: all((t) => t.floor),
    listenerAnswered: all((t) => t.listenerAnswered),
    listenerZeroed: all((t) => t.listenerZeroed),
    loopDelayP99: Math.max(...rounds.map((t) => t.loopDelayP99)),
    // A path every round measured (ROS's may have failed in one: its rows then say skipped).
    paths: Object.fromEntries(
      (Object.keys(STOP_PATHS) as StopPath[])
        .filter((p) => rounds.every((r) => r.paths[p]))
        .map((p) => [p, mergedPath(rounds.map((r) => r.paths[p]!))]),
    ),
    rounds,
  };
}

/** ms from `start` to the first time in `list` at or after it (NaN when none). */
function after(list: readonly bigint[], start: bigint): number {
  const t = list.find((x) => x >= start);
  return t === undefined ? NaN : ms(t - start);
}

function ms(ns: bigint): number {
  return Number(ns) / 1e6;
}

async function underLoad(
  surface: string,
  url: string,
  foxglove: string,
  measure: () => Promise<Times>,
): Promise<Times> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'stop-load-child.ts'), surface, url, foxglove],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    await new Promise<void>((resolve, reject) => {
      child.stdout.once('data', () => resolve());
      child.once('exit', (code) => reject(new Error(`the ${surface} load exited (${code}) before loading`)));
    });
    await sleep(1000); // let the load reach its steady state
    return await measure();
  } finally {
    child.kill('SIGKILL');
    await sleep(500);
  }
}

/** p50 / p99 / p99.9 / max of sorted ms, to a tenth. */
function tail(sorted: number[]): string {
  return tailOf(sorted, 'ms', 1);
}

type Figure = 'answered' | 'zeroed' | 'durable' | 'listenerAnswered' | 'listenerZeroed';

const FIGURES: Record<Figure, { what: string; goal?: { ms: number; words: string } }> = {
  answered: { what: 'POST /stop answered', goal: { ms: 100, words: '<= 100 ms' } },
  zeroed: { what: 'POST /stop to zero Twist', goal: { ms: 20, words: '<= 20 ms' } },
  // No goal of its own: an audit needs it durable, and the answer waits for it.
  durable: { what: 'POST /stop to stop.engaged durable' },
  listenerAnswered: { what: 'listener answered', goal: { ms: 10, words: '<= 10 ms, below floor' } },
  // The stop line: what the control loops' threads and the sim obey.
  listenerZeroed: { what: 'listener to stop line', goal: { ms: 10, words: '<= 10 ms, below floor' } },
};

const LISTENER_FIGURES = new Set<Figure>(['listenerAnswered', 'listenerZeroed']);

/** What the code before the stop owner gave for `figure` under `load`, as recorded, or why there is nothing. */
function before(load: string, figure: Figure): string {
  const at = `before the stop owner (${BEFORE.commit}, recorded ${BEFORE.recorded} on ${BEFORE.machine}; not this run)`;
  if (figure === 'listenerAnswered' || figure === 'listenerZeroed') return `${at}: none, there was no stop listener`;
  if (figure === 'durable') return `${at}: none, ${BEFORE.not_recorded.durable}`;
  const p99 = BEFORE.p99_ms[load]?.[figure];
  return p99 === undefined ? `${at}: ${BEFORE.not_recorded.idle}` : `${at}: p99 ${p99} ms`;
}

/**
 * One row per figure: its p99 over every round beside the floor's (the bare server on the same event loop, the same
 * load, this run), its tail, each round's p99 with the best and the worst, and the figure before the stop owner.
 */
function rows(
  load: string,
  times: Times,
  loadAverage: number,
  skipped: Partial<Record<StopPath, string>>,
): BenchResult[] {
  const under = load === 'idle' ? 'idle' : `${load} load`;
  const floor = {
    // A bare HTTP server on the daemon's event loop, under the same load.
    name: 'floor',
    value: percentile(times.floor, 99),
  };
  const rounds = times.rounds ?? [times];
  const listener = { answered: times.listenerAnswered, zeroed: times.listenerZeroed };
  const paths = (Object.keys(STOP_PATHS) as StopPath[]).flatMap((path) => {
    const merged = times.paths[path];
    const why = skipped[path];
    if (why !== undefined) return skippedResult(`${under}: ${STOP_PATHS[path].what}`, 'ms', why);
    return merged?.rounds ? pathRows(under, path, { ...merged, rounds: merged.rounds }, listener) : [];
  });
  return [...figureRows(under, times, loadAverage, floor, rounds, load), ...paths];
}

function figureRows(
  under: string,
  times: Times,
  loadAverage: number,
  floor: { name: string; value: number },
  rounds: readonly Times[],
  load: string,
): BenchResult[] {
  return (Object.keys(FIGURES) as Figure[]).map((figure) => {
    const { what, goal } = FIGURES[figure];
    const all = times[figure];
    const p99 = percentile(all, 99);
    const perRound = rounds.map((r) => percentile(r[figure], 99));
    const seen = all.filter((t) => !Number.isNaN(t)).length;
    return {
      name: `${under}: ${what} (p99)`,
      ours: p99,
      baseline: floor,
      unit: 'ms',
      better: 'lower' as const,
      ...(goal
        ? { goal: goal.words, met: p99 <= goal.ms && (!LISTENER_FIGURES.has(figure) || p99 < floor.value) }
        : {}),
      notes: [
        `${what}: ${tail(all)} (${seen} of ${all.length} seen); floor ${tail(times.floor)}`,
        `${rounds.length} rounds of ${STOPS} stops, p99 per round ${perRound.map((r) => r.toFixed(1)).join(', ')} ms ` +
          `(best ${Math.min(...perRound).toFixed(1)}, worst ${Math.max(...perRound).toFixed(1)})`,
        before(load, figure),
        `event-loop delay p99 ${times.loopDelayP99.toFixed(1)} ms; load average ${loadAverage.toFixed(1)}; ` +
          `stop listener's thread ${scheduling.listener}; the operator's client (a process here, standing for ` +
          `one on another machine) ${scheduling.client}; the remote-api bridge ${scheduling.bridge}`,
      ],
    };
  });
}
