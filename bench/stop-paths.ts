import { execFileSync } from 'node:child_process';
import { percentile, tail, type BenchResult } from './bench.ts';
import { join } from 'node:path';
import { clientRound, commandRound, type ListenerRound } from './stop-listener-rounds.ts';
import { errorText } from '../daemon/util/index.ts';

// The stops a user can press, for stop-under-load.bench.ts, each sent from a client process of its own as the stop
// listener's are, each round beside them: the CLI's and the page's go to the stop listener and wait for the daemon's
// report, MCP's goes where an MCP client is sent (mcp_url: the listener's /mcp) and is answered by the gateway with
// its report, central's comes in on the stop connection's thread (motion.stop.central_connection) and on the link,
// which acks it, and a robot process's Zenoh get of agent/stop is answered on the stop listener's thread. The
// remote-api bridge between them is on the stop's path: it runs real time (SCHED_FIFO 50) as docs/api.md asks of a
// robot's, and a round of its own at the default priority shows what the load costs a bridge left there. A ROS 2 e-stop
// node's call of motion.stop.ros_service (an rclpy client, stop-ros-child.py) goes over DDS to the daemon's stop
// service node, a process of its own that POSTs it to the stop listener.

/**
 * Where a path's stop shows: the stop line (what the control loops' threads and the sim read), a zero Twist, or (for
 * central's, its baseline) a bare MQTT subscriber thread reading the robot's intents topic; `also`: other places it is
 * measured to.
 */
type Zero = 'line' | 'twist' | 'mqtt';

export const STOP_PATHS: Record<
  'cli' | 'page' | 'mcp' | 'central' | 'zenoh' | 'zenohDefault' | 'ros',
  { what: string; zero: Zero; also?: Zero[]; goal?: false }
> = {
  // POST /stop?report=full to the stop listener; the page's adds its Origin.
  cli: { what: 'CLI stop', zero: 'line' },
  page: { what: 'page STOP', zero: 'line' },
  // A session on mcp_url (run/api.json): the stop listener's /mcp.
  mcp: { what: 'MCP stop tool', zero: 'line' },
  // Signed, MQTT QoS 1: the stop line from the stop connection's thread, then the main thread's zero Twist.
  central: { what: 'central stop intent', zero: 'line', also: ['twist', 'mqtt'] },
  // A Zenoh get of agent/stop (an e-stop node's), answered by its first reply: the stop listener's own session.
  zenoh: { what: 'Zenoh agent/stop', zero: 'line' },
  // The same with the bridge at SCHED_OTHER nice 0, where it waits for the CPUs behind the load: no goal of its own.
  zenohDefault: { what: 'Zenoh agent/stop, bridge at default priority', zero: 'line', goal: false },
  // A std_srvs/srv/Trigger call of motion.stop.ros_service (Fast DDS on loopback), answered with the listener's answer.
  ros: { what: 'ROS 2 stop service', zero: 'line' },
};

export type StopPath = keyof typeof STOP_PATHS;

export interface PathTargets {
  apiUrl: string;
  stopUrl: string;
  /** Where an MCP client is sent (mcp_url in run/api.json). */
  mcpUrl: string;
  floorUrl: string;
  broker: string;
  /** The robot's topics (`auraison/<fleet>/<robot>`). */
  prefix: string;
  /** Central's private key (PEM), which the robot pins. */
  keyFile: string;
  /** The remote-api bridge's WebSocket, for a Zenoh client of the robot's graph. */
  zenohUrl: string;
  /** Sets the bridge's scheduling (bridgeScheduler): real time, or the default for the zenohDefault rounds. */
  bridge: (policy: 'fifo' | 'other') => void;
  /** motion.stop.ros_service's name and a Python with rclpy, in this process's environment (a sourced ROS 2). */
  ros?: { python: string; service: string };
}

/**
 * Sets every thread of the bridge's process `pid` to SCHED_FIFO 50 or back to SCHED_OTHER (util-linux's chrt; its
 * later threads inherit it); `summary`: what it runs with, or why not (it needs CAP_SYS_NICE).
 */
export function bridgeScheduler(pid: number): { set: (policy: 'fifo' | 'other') => void; summary: () => string } {
  let summary = 'not set';
  return {
    set(policy) {
      const args = policy === 'fifo' ? ['--fifo', '50'] : ['--other', '0'];
      try {
        execFileSync('chrt', ['--all-tasks', '--pid', ...args, String(pid)], { stdio: ['ignore', 'ignore', 'pipe'] });
        if (policy === 'fifo') summary = 'SCHED_FIFO 50';
      } catch (error) {
        const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
        summary = `${policy === 'fifo' ? 'SCHED_FIFO 50' : 'SCHED_OTHER'} refused: ${stderr || errorText(error)}`;
      }
    },
    summary: () => summary,
  };
}

/** `n` stops by `path`: each one's answer (central's: its PUBACK) and its zero as `zeros` saw it, ms. */
export function pathRound(
  path: StopPath,
  n: number,
  to: PathTargets,
  zeros: Record<Zero, () => bigint[]>,
): Promise<ListenerRound> {
  const { zero, also } = STOP_PATHS[path];
  const seen = zeros[zero];
  const count = String(n);
  switch (path) {
    case 'cli':
      return clientRound('stop-client-child.ts', [to.stopUrl, to.floorUrl, count, 'report'], seen);
    case 'page':
      return clientRound('stop-client-child.ts', [to.stopUrl, to.floorUrl, count, 'page', to.apiUrl], seen);
    case 'mcp':
      return clientRound('stop-client-child.ts', [to.mcpUrl, to.floorUrl, count, 'mcp'], seen);
    case 'zenoh':
      return clientRound('stop-zenoh-child.ts', [to.zenohUrl, to.floorUrl, count], seen);
    case 'zenohDefault':
      return zenohAtDefault(to, count, seen);
    case 'ros':
      if (!to.ros) throw new Error('the ROS 2 path needs a Python with rclpy');
      return commandRound(
        to.ros.python,
        [join(import.meta.dirname, 'stop-ros-child.py'), to.ros.service, to.floorUrl, count],
        seen,
      );
    case 'central':
      return clientRound(
        'stop-central-child.ts',
        [to.broker, to.prefix, to.keyFile, to.floorUrl, count],
        seen,
        Object.fromEntries((also ?? []).map((a) => [a, zeros[a]])),
      );
  }
}

/** The Zenoh path's round with the bridge at the default priority, then real time again. */
async function zenohAtDefault(to: PathTargets, count: string, seen: () => bigint[]): Promise<ListenerRound> {
  to.bridge('other');
  try {
    return await clientRound('stop-zenoh-child.ts', [to.zenohUrl, to.floorUrl, count], seen);
  } finally {
    to.bridge('fifo');
  }
}

/** A path's rounds as one: every sample, sorted (unseen zeros last), and the rounds. */
export function mergedPath(rounds: readonly ListenerRound[]): ListenerRound & { rounds: readonly ListenerRound[] } {
  const all = (pick: (r: ListenerRound) => number[]) =>
    rounds.flatMap(pick).sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b));
  return {
    answered: all((r) => r.answered),
    zeroed: all((r) => r.zeroed),
    floor: all((r) => r.floor),
    ...(rounds[0]?.also
      ? { also: Object.fromEntries(Object.keys(rounds[0].also).map((k) => [k, all((r) => r.also?.[k] ?? [])])) }
      : {}),
    rounds,
  };
}

/**
 * Two rows for `path` under a load: its stop to the line (or the zero Twist), goal 10 ms p99, and its answer with
 * the daemon's report; each beside the stop listener's own figure of the same rounds (central's stop beside a bare MQTT
 * subscriber's, with a third row to its zero Twist).
 */
export function pathRows(
  under: string,
  path: StopPath,
  times: ListenerRound & { rounds: readonly ListenerRound[] },
  listener: { answered: number[]; zeroed: number[] },
): BenchResult[] {
  const { what, zero, goal = true } = STOP_PATHS[path];
  const perRound = (pick: (r: ListenerRound) => number[]) =>
    times.rounds.map((r) => percentile(pick(r), 99).toFixed(1)).join(', ');
  const zeroed = percentile(times.zeroed, 99);
  const seen = times.zeroed.filter((t) => !Number.isNaN(t)).length;
  const to = zero === 'line' ? 'stop line' : 'zero Twist';
  const twist = times.also?.twist;
  // Central's: beside a bare mqtt.js subscriber thread at the stop connection's priority reading the same messages
  // (what the broker, on this loaded machine, costs any reader); its zero Twist is the main thread's halt.
  const mqtt = times.also?.mqtt;
  const baseline = mqtt
    ? { name: 'bare MQTT subscriber thread, same messages', value: percentile(mqtt, 99) }
    : { name: 'listener to stop line, same rounds', value: percentile(listener.zeroed, 99) };
  const twistRow: BenchResult[] = twist
    ? [
        {
          name: `${under}: ${what} to zero Twist (p99)`,
          ours: percentile(twist, 99),
          baseline,
          unit: 'ms',
          better: 'lower',
          notes: [
            `${tail(twist, 'ms', 1)}; p99 per round ${perRound((r) => r.also?.twist ?? [])} ms (the main thread's halt)`,
          ],
        },
      ]
    : [];
  const mqttNote = mqtt
    ? [
        `bare MQTT subscriber ${tail(mqtt, 'ms', 1)}; listener to stop line p99 ${percentile(listener.zeroed, 99).toFixed(1)} ms`,
      ]
    : [];
  return [
    {
      name: `${under}: ${what} to ${to} (p99)`,
      ours: zeroed,
      baseline,
      unit: 'ms',
      better: 'lower',
      ...(goal ? { goal: '<= 10 ms', met: zeroed <= 10 } : {}),
      notes: [
        `${tail(times.zeroed, 'ms', 1)} (${seen} of ${times.zeroed.length} seen); p99 per round ${perRound((r) => r.zeroed)} ms`,
        ...mqttNote,
      ],
    },
    {
      // Central's answer is its ack, sent once the run is durable; Zenoh's and ROS's are the listener's own; the
      // others' carry the daemon's report.
      name: `${under}: ${what} ${path === 'central' ? 'acked' : path.startsWith('zenoh') || path === 'ros' ? 'answered' : 'answered with report'} (p99)`,
      ours: percentile(times.answered, 99),
      baseline: {
        name: 'listener answered, same rounds',
        value: percentile(listener.answered, 99),
      },
      unit: 'ms',
      better: 'lower',
      notes: [`${tail(times.answered, 'ms', 1)}; p99 per round ${perRound((r) => r.answered)} ms`],
    },
    ...twistRow,
  ];
}
