/**
 * The clock of a loop's ages and heartbeats: CLOCK_MONOTONIC in ms, one clock for every thread of the
 * process. The wall clock (a bus message's logTime) steps with NTP, which on a robot without an RTC can be
 * years at the first sync after boot; an age taken across such a step would keep a dead topic fresh
 * (a step forward) or every topic stale (a step back), and a heartbeat would look alive forever.
 */
export function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
