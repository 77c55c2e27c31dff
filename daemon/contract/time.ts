/**
 * Wall-clock time in ns since the epoch, with sub-ms resolution. It runs on the monotonic clock between
 * re-syncs with the system clock, so consecutive readings never go backwards within a second, yet it still
 * follows NTP steps and clock jumps (as ROS's system_clock does) after at most one re-sync interval.
 */
let base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
let lastResync = Date.now();

export function nowNs(): bigint {
  const ms = Date.now();
  if (ms - lastResync >= 1000 || ms < lastResync) {
    lastResync = ms;
    base = BigInt(ms) * 1_000_000n - process.hrtime.bigint();
  }
  return base + process.hrtime.bigint();
}

/** ns since the epoch as the decimal string used in JSON. */
export function nsToJson(ns: bigint): string {
  return ns.toString();
}

export function nsFromJson(text: string): bigint {
  if (!/^-?\d+$/.test(text)) throw new TypeError(`expected a decimal ns timestamp, got ${JSON.stringify(text)}`);
  return BigInt(text);
}

/** ROS builtin_interfaces/Time from ns. */
export function nsToRosTime(ns: bigint): { sec: number; nanosec: number } {
  return { sec: Number(ns / 1_000_000_000n), nanosec: Number(ns % 1_000_000_000n) };
}

export function rosTimeToNs(t: { sec: number; nanosec: number }): bigint {
  return BigInt(t.sec) * 1_000_000_000n + BigInt(t.nanosec);
}
