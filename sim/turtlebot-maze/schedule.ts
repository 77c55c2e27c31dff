/**
 * When a periodic publication falls due, counted in whole physics steps. The n-th publication goes out at
 * the first step k with k / stepHz >= n / hz, decided in integers: a running float sum of periods (the sim
 * used `next += 1 / 30`) drifts away from the steps' own time, and after about 19 minutes of sim time a
 * /scan went out one step after the /odom and /tf it should share a stamp with, so a TF lookup at the
 * scan's stamp had to extrapolate until the next /tf came.
 */
export class StepRate {
  readonly hz: number;
  readonly stepHz: number;
  #sent = 0;

  constructor(hz: number, stepHz: number) {
    if (!Number.isInteger(hz) || !Number.isInteger(stepHz) || hz < 1 || hz > stepHz) {
      throw new RangeError(`a step rate needs whole numbers 1 <= hz <= stepHz, got ${hz} Hz on ${stepHz} Hz steps`);
    }
    this.hz = hz;
    this.stepHz = stepHz;
  }

  /** Whether the next publication is due at physics step `step` (0, 1, 2, ...); counts it when it is. */
  due(step: number): boolean {
    if (step * this.hz < this.#sent * this.stepHz) return false;
    this.#sent++;
    return true;
  }
}
