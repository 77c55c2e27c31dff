// A robot often has no RTC: it boots in 1970 (or at the last saved time), the first NTP sync steps the wall
// clock by years, and later syncs step it by seconds either way. So within one process every duration (a
// timeout, a cooldown, an age) is measured on the monotonic clock; the wall clock only carries a deadline
// across a restart, and a wall time from before the clock was set is unknown, never a time to compare with.

/**
 * Times before this are a clock that was never set (no RTC, before NTP): not a time at all. One bound for
 * the whole daemon (approvals, journal and lakehouse retention).
 */
export const PLAUSIBLE_AFTER_MS = Date.UTC(2020, 0, 1);

/** Whether a wall time (ms since the epoch) can be a real time rather than an unset clock's. */
export function plausibleWallMs(ms: number): boolean {
  return Number.isFinite(ms) && ms >= PLAUSIBLE_AFTER_MS;
}

/**
 * What is left of a wait that was to end at `deadlineWallMs` (written by a process before a restart) and that
 * lasts `timeoutMs` in all. The wall clock tells, but never more than a whole timeout (a deadline further off
 * means the clock stepped back since it was written). When either time is implausible (written or read
 * before the clock was set, e.g. after a reboot without an RTC), how much time passed is unknown, and the
 * wait is over: for a wait in front of a robot's action (an approval), ending it is the safe side.
 */
export function remainingMs(deadlineWallMs: number, timeoutMs: number, nowWallMs: number): number {
  if (!plausibleWallMs(deadlineWallMs) || !plausibleWallMs(nowWallMs)) return 0;
  return Math.min(Math.max(0, deadlineWallMs - nowWallMs), timeoutMs);
}
