/**
 * Wall-clock time in ns since the epoch, with sub-ms resolution. It runs on the monotonic clock between
 * re-syncs with the system clock (once a second), so consecutive readings never go backwards within a
 * second, yet it still follows NTP steps and clock jumps (as ROS's system_clock does) after at most one
 * re-sync interval. Every bus message is stamped with it, so it reads one clock per call: the monotonic
 * one, which also tells when the next re-sync is due (reading the wall clock too doubled its cost).
 */
const RESYNC_NS = 1_000_000_000n;
let base = 0n;
let resyncAt = 0n;

function resync(hr: bigint): void {
  base = BigInt(Date.now()) * 1_000_000n - hr;
  resyncAt = hr + RESYNC_NS;
}

export function nowNs(): bigint {
  const hr = process.hrtime.bigint();
  if (hr >= resyncAt) resync(hr);
  return base + hr;
}

/** ns since the epoch as the decimal string used in JSON. */
export function nsToJson(ns: bigint): string {
  return ns.toString();
}

export function nsFromJson(text: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new TypeError(`expected a decimal ns timestamp, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** ns since the epoch (a bigint or its decimal JSON text) as an ISO 8601 UTC time, to the millisecond. */
export function nsToIso(ns: bigint | string): string {
  return new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
}

/** ROS builtin_interfaces/Time from ns. */
export function nsToRosTime(ns: bigint): { sec: number; nanosec: number } {
  return { sec: Number(ns / 1_000_000_000n), nanosec: Number(ns % 1_000_000_000n) };
}

export function rosTimeToNs(t: { sec: number; nanosec: number }): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nanosec);
}
