import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { sleep } from '../daemon/util/index.ts';

/** A round of stops to the stop listener: each stop's answer and zero time, and the floor's answers, ms, sorted. */
export interface ListenerRound {
  answered: number[];
  zeroed: number[];
  floor: number[];
  /**
   * Other places each stop shows, by name, when asked (central's: the zero Twist on the bus, and a bare MQTT subscriber
   * thread that reads the same messages, the broker's own figure).
   */
  also?: Record<string, number[]>;
}

/**
 * `n` stops to the stop listener at `stopUrl` from the operator's client in a process of its own
 * (stop-client-child.ts), each beside a GET of the floor server at `floorUrl` (a bare HTTP server on the daemon's
 * event loop). `zeros()` gives when each zero command was seen (ns of CLOCK_MONOTONIC, in any order): a stop's is
 * the first at or after it was sent.
 */
export function listenerRound(
  stopUrl: string,
  floorUrl: string,
  n: number,
  zeros: () => bigint[],
): Promise<ListenerRound> {
  return clientRound('stop-client-child.ts', [stopUrl, floorUrl, String(n)], zeros);
}

/**
 * A round of stops from one of the operator's clients (`script`, a child of this folder given `args`, which prints
 * its stops' and floors' times as stop-client-child.ts does): each stop's answer, and its zero as `zeros()` saw it
 * (and as each of `also` saw it).
 */
export function clientRound(
  script: string,
  args: string[],
  zeros: () => bigint[],
  also: Record<string, () => bigint[]> = {},
): Promise<ListenerRound> {
  return commandRound(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script), ...args], zeros, also);
}

/** clientRound's round from a client that `command` runs with `args` (a Python one: stop-ros-child.py). */
export async function commandRound(
  command: string,
  args: string[],
  zeros: () => bigint[],
  also: Record<string, () => bigint[]> = {},
): Promise<ListenerRound> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.once('error', () => resolve(null));
    child.once('exit', resolve);
  });
  if (code !== 0) throw new Error(`the operator's client (${command} ${args.join(' ')}) exited with ${code}`);
  const { stops, floors } = JSON.parse(out) as { stops: [string, string][]; floors: [string, string][] };
  // The last zero may come after the client's last answer.
  await sleep(200);
  const sorted = (times: bigint[]) => times.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const seen = sorted(zeros());
  const seenAlso = Object.entries(also).map(([name, times]) => [name, sorted(times())] as const);
  const ms = (ns: bigint) => Number(ns) / 1e6;
  const after = (list: bigint[], start: bigint) => {
    const zero = list.find((t) => t >= start);
    return zero === undefined ? NaN : ms(zero - start);
  };
  const round: ListenerRound = { answered: [], zeroed: [], floor: [] };
  if (seenAlso.length > 0) round.also = Object.fromEntries(seenAlso.map(([name]) => [name, []]));
  for (const [from, to] of stops) {
    const start = BigInt(from);
    round.answered.push(ms(BigInt(to) - start));
    round.zeroed.push(after(seen, start));
    for (const [name, times] of seenAlso) round.also![name]!.push(after(times, start));
  }
  for (const [from, to] of floors) round.floor.push(ms(BigInt(to) - BigInt(from)));
  // Unseen zeros (NaN) last: a p99 that falls on one shows it.
  for (const list of [round.answered, round.zeroed, round.floor, ...Object.values(round.also ?? {})])
    list.sort((a, b) => (Number.isNaN(a) ? 1 : Number.isNaN(b) ? -1 : a - b));
  return round;
}
