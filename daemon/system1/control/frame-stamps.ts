import { ImageError } from '../vision/image-error.ts';

/** A stamp this close to the daemon's clock is taken as on it (ROS time from the system clock, synchronized). */
const SAME_CLOCK_NS = 86_400n * 1_000_000_000n;

interface Stamp {
  sec: number;
  nanosec: number;
}

const stampOf = (message: unknown): Stamp | undefined => {
  const header = (message as { header?: { stamp?: Stamp } }).header;
  return header?.stamp;
};

const seconds = (ns: bigint) => (Number(ns) / 1e9).toFixed(3);

/**
 * One camera's rule for a frame's age (image.age_from: stamp). A frame is as old as the later of its arrival and its
 * header.stamp, where the stamp is on the daemon's clock (within a day of it: a synchronized camera's); a stamp on
 * another clock (sim time from 0, a camera with no clock sync) says nothing of age, and the arrival counts. Either way
 * a stamp must move forward: a frame stamped at or before the last one taken is a repeat or a replay, refused. A
 * zero stamp is a camera that does not stamp: the arrival counts.
 */
export class FrameStamps {
  #last = -1n;

  /** How old the frame is, in ms: `arrivalAgeMs` or more. Throws ImageError (stale_stamp) for a repeated stamp. */
  ageMs(message: unknown, arrivalAgeMs: number, nowNs: bigint): number {
    const stamp = stampOf(message);
    if (!stamp || (stamp.sec === 0 && stamp.nanosec === 0)) return arrivalAgeMs;
    const ns = BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.nanosec);
    if (ns <= this.#last)
      throw new ImageError(
        'stale_stamp',
        `header.stamp ${seconds(ns)} s is not after the last frame's (${seconds(this.#last)} s): a repeated or replayed frame (a bag played in a loop? image.age_from: arrival counts age from arrival alone)`,
      );
    this.#last = ns;
    const behind = nowNs - ns;
    if (behind > SAME_CLOCK_NS || behind < -SAME_CLOCK_NS) return arrivalAgeMs;
    return Math.max(arrivalAgeMs, Number(behind) / 1e6);
  }
}
