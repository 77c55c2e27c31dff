import { ImageError } from '../vision/image-error.ts';

const NS_PER_S = 1_000_000_000n;
/** A stamp this close behind the daemon's clock is taken as on it (ROS time from the system clock, synchronized). */
const SAME_CLOCK_NS = 86_400n * NS_PER_S;
/**
 * Frames in a row stamped behind the last one taken, each after the one before, that show the camera's clock went back
 * (a sim reset, a clock stepped back): the last of them is taken, and the camera goes on from its new stamps. Fewer is
 * a repeat or a frame out of order, refused.
 */
export const STEP_BACK_FRAMES = 3;
/** image.max_stamp_ahead_ms unless set: a camera's clock a little fast, never far enough to hold a camera by. */
export const MAX_STAMP_AHEAD_MS = 1000;

interface Stamp {
  sec: number;
  nanosec: number;
}

export interface FrameStampsOptions {
  /** How far ahead of the daemon's clock a stamp may be (a camera's clock a little fast): past it, refused. */
  maxAheadMs: number;
}

/** A frame's stamp as judged: its age, and the stamp to hand to `taken` once it becomes the input. */
export interface JudgedStamp {
  ageMs: number;
  /** Undefined for a frame with no stamp (or a zero one). */
  stampNs: bigint | undefined;
}

const stampOf = (message: unknown): Stamp | undefined => {
  const header = (message as { header?: { stamp?: Stamp } }).header;
  return header?.stamp;
};

const seconds = (ns: bigint) => (Number(ns) / 1e9).toFixed(3);

/**
 * One camera's rule for a frame's age (image.age_from: stamp). A frame is as old as the later of its arrival and its
 * header.stamp, where the stamp is on the daemon's clock (within a day behind it: a synchronized camera's); a stamp
 * further behind is on another clock (sim time from 0) and says nothing of age: the arrival counts. A stamp ahead of
 * the daemon's clock by more than maxAheadMs is on no clock a frame can be judged by, so it is refused, whatever the
 * camera. A stamp must move forward: a frame stamped at or before the last one taken is a repeat, refused, unless the
 * camera's clock went back (STEP_BACK_FRAMES). A zero stamp is a camera that does not stamp: the arrival counts.
 *
 * Only a frame that became the input (`taken`) sets the stamp the next must beat, so a refused frame, whatever its
 * stamp, never holds the camera. Callers judge and take one frame at a time.
 */
export class FrameStamps {
  readonly #maxAheadNs: bigint;
  /** The stamp of the last frame taken (-1: none yet). */
  #last = -1n;
  /** The run of frames stamped behind `#last`, each after the one before: how many, and the latest stamp. */
  #behind = { count: 0, last: -1n };

  constructor({ maxAheadMs }: FrameStampsOptions) {
    this.#maxAheadNs = BigInt(Math.round(maxAheadMs * 1e6));
  }

  /**
   * How old the frame is, in ms (`arrivalAgeMs` or more), judged at `nowNs` on the daemon's clock. Throws ImageError:
   * bad_stamp for a stamp that is not a time or is ahead of the daemon's clock, stale_stamp for a repeated one.
   */
  judge(message: unknown, arrivalAgeMs: number, nowNs: bigint): JudgedStamp {
    const stamp = stampOf(message);
    if (!stamp || (stamp.sec === 0 && stamp.nanosec === 0)) return { ageMs: arrivalAgeMs, stampNs: undefined };
    const ns = this.#checked(stamp, nowNs);
    if (ns <= this.#last) this.#stepBack(ns);
    const behind = nowNs - ns;
    if (behind > SAME_CLOCK_NS || behind < 0n) return { ageMs: arrivalAgeMs, stampNs: ns };
    return { ageMs: Math.max(arrivalAgeMs, Number(behind) / 1e6), stampNs: ns };
  }

  /** The frame judged with `stampNs` became the input: the next must be stamped after it. */
  taken(stampNs: bigint | undefined): void {
    if (stampNs === undefined) return;
    this.#last = stampNs;
    this.#behind = { count: 0, last: -1n };
  }

  #checked({ sec, nanosec }: Stamp, nowNs: bigint): bigint {
    if (!Number.isInteger(sec) || !Number.isInteger(nanosec) || sec < 0 || nanosec < 0 || nanosec >= 1e9)
      throw new ImageError(
        'bad_stamp',
        `header.stamp {sec: ${sec}, nanosec: ${nanosec}} is not a time (sec from 0, nanosec under 1e9); the frame is refused`,
      );
    const ns = BigInt(sec) * NS_PER_S + BigInt(nanosec);
    const ahead = ns - nowNs;
    if (ahead > this.#maxAheadNs)
      throw new ImageError(
        'bad_stamp',
        `header.stamp ${seconds(ns)} s is ${seconds(ahead)} s ahead of the daemon's clock ` +
          `(max_stamp_ahead_ms ${Number(this.#maxAheadNs) / 1e6}); the frame is refused: ` +
          "sync the camera's clock with the daemon's, or set image.age_from: arrival",
      );
    return ns;
  }

  /** `ns` is at or before the last stamp taken: a repeat, refused, unless it ends a run showing a clock gone back. */
  #stepBack(ns: bigint): void {
    const run = this.#behind;
    if (ns > run.last && run.count > 0) run.count++;
    else this.#behind = { count: 1, last: ns };
    this.#behind.last = ns;
    if (this.#behind.count >= STEP_BACK_FRAMES) return;
    throw new ImageError(
      'stale_stamp',
      `header.stamp ${seconds(ns)} s is not after the last frame's (${seconds(this.#last)} s): a repeated or replayed frame (${STEP_BACK_FRAMES} frames in a row stamped forward from there are taken as the camera's clock gone back)`,
    );
  }
}
