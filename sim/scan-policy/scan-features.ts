/**
 * The sim policy's view of a LaserScan: 360 beams (LDS-01, beam 0 straight ahead, counter-clockwise) cut
 * into SECTORS sectors of equal width centred on the front, each the nearest range in it, clipped to
 * [0, RANGE_MAX] (REP 117's +Infinity "nothing in range" becomes RANGE_MAX). The ONNX model computes the
 * same thing in its graph (Gather, Clip, Reshape, ReduceMin), so it takes raw /scan ranges.
 */
export const BEAMS = 360;
export const SECTORS = 24;
export const RANGE_MAX = 3.5;
const WIDTH = BEAMS / SECTORS;

/** Beam order that starts half a sector to the right of the front, so sector 0 is centred on it. */
export const SECTOR_ORDER = Array.from({ length: BEAMS }, (_, i) => (i - Math.floor(WIDTH / 2) + BEAMS) % BEAMS);

export function sectorMinima(ranges: ArrayLike<number>): Float32Array {
  if (ranges.length !== BEAMS) throw new RangeError(`the sim policy takes ${BEAMS} beams, got ${ranges.length}`);
  const out = new Float32Array(SECTORS).fill(RANGE_MAX);
  for (let k = 0; k < BEAMS; k++) {
    const r = ranges[SECTOR_ORDER[k]!]!;
    const v = Number.isNaN(r) ? RANGE_MAX : r < 0 ? 0 : r > RANGE_MAX ? RANGE_MAX : r;
    const s = Math.floor(k / WIDTH);
    if (v < out[s]!) out[s] = v;
  }
  return out;
}

/**
 * The expert the sim policy imitates: a reactive obstacle avoider over sector minima. It drives forward as
 * fast as the space ahead allows, steers toward the more open side, and turns in place when blocked.
 */
export function expertCommand(sectors: Float32Array): [linear: number, angular: number] {
  const at = (i: number): number => sectors[(i + SECTORS) % SECTORS]!;
  const front = Math.min(at(-1), at(0), at(1));
  const left = (at(2) + at(3) + at(4)) / 3;
  const right = (at(-2) + at(-3) + at(-4)) / 3;
  const sideLeft = at(6);
  const sideRight = at(-6);
  const linear = 0.22 * Math.min(1, Math.max(0, (front - 0.25) / 0.45));
  let angular = 1.2 * (left - right) + 0.8 * (sideLeft - sideRight) * (front < 1.0 ? 1 : 0.3);
  if (front < 0.45) angular += left >= right ? 1.6 : -1.6;
  return [linear, Math.max(-2.0, Math.min(2.0, angular))];
}
