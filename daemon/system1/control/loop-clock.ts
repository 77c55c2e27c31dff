/**
 * performance.now() reads libuv's hrtime (CLOCK_MONOTONIC) from an origin of this process's. Unlike hrtime.bigint()
 * it makes no BigInt, but until its caller is fully optimized it boxes its result and Node's brand check behind it
 * gathers its arguments in an array: a loop reads it once a tick (toMonotonicMs). The offset to CLOCK_MONOTONIC is
 * taken once, from the reading pair that lay closest together (to a microsecond or so).
 */
const OFFSET_MS = (() => {
  let best = { spanMs: Number.POSITIVE_INFINITY, offsetMs: 0 };
  for (let i = 0; i < 5; i++) {
    const before = performance.now();
    const hr = Number(process.hrtime.bigint()) / 1e6;
    const after = performance.now();
    if (after - before < best.spanMs) best = { spanMs: after - before, offsetMs: hr - (before + after) / 2 };
  }
  return best.offsetMs;
})();

/**
 * The clock of a loop's ages and heartbeats: CLOCK_MONOTONIC in ms, one clock for every thread and process. The wall
 * clock (a bus message's logTime) steps with NTP, which on a robot without an RTC can be years at the first sync after
 * boot; an age taken across such a step would keep a dead topic fresh (a step forward) or every topic stale (a step
 * back), and a heartbeat would look alive forever.
 */
export function monotonicMs(): number {
  return performance.now() + OFFSET_MS;
}

/** monotonicMs() of a performance.now() reading already taken: a tick reads the clock once and derives the rest. */
export function toMonotonicMs(performanceNowMs: number): number {
  return performanceNowMs + OFFSET_MS;
}
