import { didYouMean, formatPath } from '../util/index.ts';

/** A joint's limits: positions in rad (revolute, continuous) or m (prismatic), velocity per second. */
export interface JointLimit {
  /** -Infinity for a continuous joint. */
  readonly lower: number;
  /** Infinity for a continuous joint. */
  readonly upper: number;
  /** Infinity where the description gives none. */
  readonly velocity: number;
  /** N·m (N); Infinity where the description gives none. */
  readonly effort?: number;
  /** Why no command may name this joint (`a fixed joint`, `mimics gripper`); undefined for a commandable one. */
  readonly uncommandable?: string;
}

/** The robot's joints by name. */
export type JointLimits = ReadonlyMap<string, JointLimit>;

/** One joint's limits as the config overrides them (motion.joints.limits): each narrows, never widens. */
export interface JointOverride {
  lower?: number;
  upper?: number;
  velocity?: number;
  /** rad/s² (m/s²): a URDF gives none, so only this bounds a trajectory point's accelerations. */
  acceleration?: number;
  max_step?: number;
}

export interface JointFrameSettings {
  /** clamp: a command is brought within the limits; refuse: a command outside them is not sent. */
  mode: 'clamp' | 'refuse';
  /** The most a joint may move from the point before (the first point: from where it is); Infinity: no bound. */
  max_step: number;
  /** Per-joint overrides, laid over the robot's limits at compile. */
  limits?: Readonly<Record<string, JointOverride>>;
}

/** Limits that cannot be had, or a command for joints the robot does not have: what, where and what to do. */
export class JointLimitsError extends Error {
  override name = 'JointLimitsError';
  /** The file, topic or command the problems are in. */
  readonly where: string;
  readonly problems: readonly string[];
  constructor(where: string, problems: readonly string[]) {
    super(`${where}: ${problems.join('; ')}`);
    this.where = where;
    this.problems = problems;
  }
}

/** What the first violation of the last apply was: numbers, so that noting one allocates nothing. */
const Violation = { None: 0, NotFinite: 1, BelowLower: 2, AboveUpper: 3, Step: 4 } as const;
type Violation = (typeof Violation)[keyof typeof Violation];

/**
 * The limits compiled for one command's joint order (a JointTrajectory's joint_names, a forward controller's
 * joints), so that a tick holds a command to them with indexed loops over typed arrays: `apply` allocates
 * nothing, as it runs on every command of a control loop. A frame is used by one caller at a time:
 * `violation()` and `unresolved` describe the last `apply`.
 */
export class JointFrame {
  readonly names: readonly string[];
  readonly mode: 'clamp' | 'refuse';
  readonly #lower: Float64Array;
  readonly #upper: Float64Array;
  readonly #velocity: Float64Array;
  readonly #step: Float64Array;
  readonly #effort: Float64Array;
  readonly #acceleration: Float64Array;
  #unresolved = false;
  #kind: Violation = Violation.None;
  #point = 0;
  #joint = 0;
  #value = 0;
  #reference = 0;

  /**
   * The frame for `names` in that order. Throws a JointLimitsError naming each joint the robot does not have
   * (with the likeliest it meant), each named twice, and each no command may name (a fixed or mimic joint).
   */
  static compile(
    names: readonly string[],
    limits: JointLimits,
    settings: JointFrameSettings,
    where: string,
  ): JointFrame {
    const problems: string[] = [];
    const commandable = [...limits].filter(([, limit]) => limit.uncommandable === undefined).map(([name]) => name);
    names.forEach((name, i) => {
      const limit = limits.get(name);
      if (names.indexOf(name) !== i) problems.push(`joint ${JSON.stringify(name)} is named twice`);
      else if (!limit) {
        const guess = didYouMean(name, commandable);
        problems.push(
          `the robot has no joint ${JSON.stringify(name)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}`,
        );
      } else if (limit.uncommandable !== undefined)
        problems.push(`joint ${JSON.stringify(name)} cannot be commanded: ${limit.uncommandable}`);
      else if (!(Math.min(limit.velocity, overrideOf(settings, name).velocity ?? Infinity) < Infinity))
        problems.push(
          `joint ${JSON.stringify(name)} has no velocity limit (its URDF <limit> gives no velocity, and motion.joints.limits.${name}.velocity none): a command could move it at any speed; give one`,
        );
    });
    if (problems.length > 0) {
      problems.push(`name the joints as the robot's description does: ${listed(commandable)}`);
      throw new JointLimitsError(where, problems);
    }
    return new JointFrame(names, limits, settings);
  }

  private constructor(names: readonly string[], limits: JointLimits, settings: JointFrameSettings) {
    const { mode, max_step } = settings;
    const n = names.length;
    this.names = [...names];
    this.mode = mode;
    this.#lower = new Float64Array(n);
    this.#upper = new Float64Array(n);
    this.#velocity = new Float64Array(n);
    this.#step = new Float64Array(n);
    this.#effort = new Float64Array(n);
    this.#acceleration = new Float64Array(n);
    for (let j = 0; j < n; j++) {
      const limit = limits.get(names[j]!)!;
      const override = overrideOf(settings, names[j]!);
      this.#lower[j] = Math.max(limit.lower, override.lower ?? -Infinity);
      this.#upper[j] = Math.min(limit.upper, override.upper ?? Infinity);
      this.#velocity[j] = Math.min(limit.velocity, override.velocity ?? Infinity);
      // A joint's own max_step replaces the default, wider or narrower (LeRobot's max_relative_target per motor): a
      // position-controlled gripper grips by being commanded past where the object stops it.
      this.#step[j] = override.max_step ?? max_step;
      this.#effort[j] = limit.effort ?? Infinity;
      this.#acceleration[j] = override.acceleration ?? Infinity;
    }
  }

  /** Joint `j`'s velocity limit (rad/s or m/s), overrides applied. */
  velocityOf(j: number): number {
    return this.#velocity[j]!;
  }

  /** Joint `j`'s effort limit, Infinity where the description gives none. */
  effortOf(j: number): number {
    return this.#effort[j]!;
  }

  /** Joint `j`'s acceleration limit (motion.joints.limits.<joint>.acceleration), Infinity where none is set. */
  accelerationOf(j: number): number {
    return this.#acceleration[j]!;
  }

  /** How many joints a point has. */
  get size(): number {
    return this.names.length;
  }

  /**
   * Whether the last `apply` met a value it could not make safe: not a finite number where there was nothing
   * to hold instead (the first point, with the joint's measured position unknown), or a step from a position
   * outside the limits that no value within them meets. Whatever the mode, the command must not be sent.
   */
  get unresolved(): boolean {
    return this.#unresolved;
  }

  /**
   * Holds `points` consecutive points of `size` positions each, in place, to the limits: each value within
   * [lower, upper], then within max_step of the previous point's value (the first point's: of `measured`, in
   * the frame's order; undefined, or NaN for a joint, means unknown, and bounds only by the limits). A value
   * that is not a finite number is replaced by the previous (or measured) one. When `durationsS` is given,
   * writes for each point the least time its move from the previous one needs at the velocity limits (the
   * first point's from `measured`; 0 where unknown): a caller raises time_from_start to at least their
   * running sum. Returns how many values it changed: 0 when the command was within the limits.
   */
  apply(
    positions: Float64Array,
    points: number,
    measured: Float64Array | undefined,
    durationsS: Float64Array | undefined,
  ): number {
    const n = this.names.length;
    const lower = this.#lower;
    const upper = this.#upper;
    const velocity = this.#velocity;
    const step = this.#step;
    let changed = 0;
    this.#unresolved = false;
    this.#kind = Violation.None;
    for (let p = 0; p < points; p++) {
      const base = p * n;
      let need = 0;
      for (let j = 0; j < n; j++) {
        const value = positions[base + j]!;
        let previous = NaN;
        if (p > 0) previous = positions[base - n + j]!;
        else if (measured !== undefined && j < measured.length) previous = measured[j]!;
        const known = previous - previous === 0; // finite: NaN - NaN and Infinity - Infinity are NaN
        let out = value;
        if (value - value !== 0) {
          if (known) out = previous;
          else this.#unresolved = true;
          if (this.#kind === Violation.None) this.#note(Violation.NotFinite, p, j, value, previous);
        } else {
          if (out < lower[j]!) {
            out = lower[j]!;
            if (this.#kind === Violation.None) this.#note(Violation.BelowLower, p, j, value, lower[j]!);
          } else if (out > upper[j]!) {
            out = upper[j]!;
            if (this.#kind === Violation.None) this.#note(Violation.AboveUpper, p, j, value, upper[j]!);
          }
          // After the limits: from a position outside them (a description a little off the real arm), the
          // command steps back towards them rather than jumping in.
          if (known && (out > previous + step[j]! || out < previous - step[j]!)) {
            out = out > previous ? previous + step[j]! : previous - step[j]!;
            if (this.#kind === Violation.None) this.#note(Violation.Step, p, j, value, previous);
            // From a position further outside the limits than a step (a description far off the arm, or a
            // measurement that lies) a step would still be outside them: nothing is sent rather than a command
            // past the robot's limits.
            if (previous > upper[j]! + step[j]! || previous < lower[j]! - step[j]!) this.#unresolved = true;
          }
        }
        if (out !== value || out - out !== 0) {
          positions[base + j] = out;
          changed++; // a value not made safe (unresolved) counts too: the command is not within the limits
        }
        if (known && out - out === 0) {
          const seconds = Math.abs(out - previous) / velocity[j]!;
          if (seconds > need) need = seconds;
        }
      }
      if (durationsS !== undefined) durationsS[p] = need;
    }
    return changed;
  }

  /** The first violation the last `apply` met, in words (joint, point, value, limit); undefined when none. */
  violation(): string | undefined {
    const name = JSON.stringify(this.names[this.#joint]);
    const at = `${name} at point ${this.#point}`;
    const value = this.#value;
    const j = this.#joint;
    switch (this.#kind) {
      case Violation.None:
        return undefined;
      case Violation.NotFinite:
        return this.#unresolved && this.#point === 0 && !Number.isFinite(this.#reference)
          ? `${at} is ${value}, not a position, and there is no measured position to hold instead`
          : `${at} is ${value}, not a position`;
      case Violation.BelowLower:
        return `${at} is ${value}, below its lower limit ${this.#lower[j]}`;
      case Violation.AboveUpper:
        return `${at} is ${value}, above its upper limit ${this.#upper[j]}`;
      case Violation.Step: {
        const from = this.#point === 0 ? 'the measured position' : 'the point before';
        const outside =
          this.#unresolved &&
          (this.#reference < this.#lower[j]! - this.#step[j]! || this.#reference > this.#upper[j]! + this.#step[j]!)
            ? `, which is outside the limits [${this.#lower[j]}, ${this.#upper[j]}] by more than a step: nothing is sent until the arm is measured within a step of them`
            : '';
        return `${at} is ${value}, ${round(Math.abs(value - this.#reference))} from ${from} ${round(this.#reference)}: more than max_step ${this.#step[j]}${outside}`;
      }
    }
  }

  #note(kind: Violation, point: number, joint: number, value: number, reference: number): void {
    this.#kind = kind;
    this.#point = point;
    this.#joint = joint;
    this.#value = value;
    this.#reference = reference;
  }
}

/** One joint's override in `settings` (none: {}). */
function overrideOf(settings: JointFrameSettings, name: string): JointOverride {
  const overrides = settings.limits ?? {};
  return Object.hasOwn(overrides, name) ? overrides[name]! : {};
}

/**
 * The problems with overrides (motion.joints.limits) against the robot's limits, each at its key path: a joint it
 * does not have, a bound that widens the description's, a lower above the upper. Empty when none.
 */
export function overrideProblems(
  limits: JointLimits,
  overrides: Readonly<Record<string, JointOverride>>,
): { path: string; message: string }[] {
  const problems: { path: string; message: string }[] = [];
  const names = [...limits.keys()];
  for (const [name, override] of Object.entries(overrides)) {
    const limit = limits.get(name);
    const path = formatPath(['motion', 'joints', 'limits', name]);
    if (!limit) {
      const guess = didYouMean(name, names);
      problems.push({
        path,
        message: `the robot has no joint ${JSON.stringify(name)}${guess ? ` (did you mean ${JSON.stringify(guess)}?)` : ''}; its joints: ${listed(names)}`,
      });
      continue;
    }
    for (const bound of ['lower', 'upper', 'velocity'] as const) {
      const value = override[bound];
      if (value !== undefined && (bound === 'lower' ? value < limit.lower : value > limit[bound]))
        problems.push({
          path: `${path}.${bound}`,
          message: `${value} is outside the description's ${limit[bound]}: an override narrows the robot's limits, never widens them (correct the URDF to widen)`,
        });
    }
    const lower = Math.max(limit.lower, override.lower ?? -Infinity);
    const upper = Math.min(limit.upper, override.upper ?? Infinity);
    if (lower > upper)
      problems.push({ path, message: `lower ${lower} is above upper ${upper}: no position would be allowed` });
  }
  return problems;
}

/** Names for a message: the first dozen, and how many more. */
export function listed(names: readonly string[]): string {
  if (names.length === 0) return '(none)';
  const shown = names.slice(0, 12).join(', ');
  return names.length > 12 ? `${shown} and ${names.length - 12} more` : shown;
}

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
