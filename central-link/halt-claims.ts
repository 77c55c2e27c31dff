/** Slots of the claims buffer: far more than central's stops within the time both paths take to read one. */
const SLOTS = 256;

/** A buffer of stop claims, shared by the link's main thread and the stop connection's thread. */
export const haltClaimsBuffer = (): SharedArrayBuffer => new SharedArrayBuffer(SLOTS * BigInt64Array.BYTES_PER_ELEMENT);

/**
 * Claims the stop with central's signed `counter` for marking the stop line: true for the first of the two paths that
 * read it (the link on the main thread, the stop connection on its own), false for the other. A compare-and-swap on
 * the counter's slot, so two reads at the same moment cannot both win. A newer stop in the same slot takes it over;
 * an older stop's late copy then marks once more, which only counts one stop more.
 */
export function claimHalt(claims: SharedArrayBuffer, counter: string): boolean {
  const slots = new BigInt64Array(claims);
  let value: bigint;
  try {
    value = BigInt.asIntN(64, BigInt(counter));
  } catch {
    return true; // not a counter the signature check takes: nothing to share
  }
  const slot = Number(BigInt.asUintN(64, value) % BigInt(slots.length));
  for (;;) {
    const seen = Atomics.load(slots, slot);
    if (seen === value) return false;
    if (Atomics.compareExchange(slots, slot, seen, value) === seen) return true;
  }
}
