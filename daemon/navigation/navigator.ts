import type { Bus, Publisher, Subscription } from '../bus/bus.ts';
import type { MessageCodec } from '../bus/codec.ts';
import type { BusMessage } from '../bus/types.ts';
import { PathPlanner, type PlanOptions } from './astar.ts';
import { formatPoint, type Point2D, type Pose2D } from './geometry.ts';
import { GoalWatchdog } from './goal-watchdog.ts';
import { PathFollower, type FollowerScan, type PathFollowerOptions } from './path-follower.ts';
import { gridOf, poseOf, scanMountOf, scanOf, stampS, type GridMsg, type OdometryMsg, type ScanMsg, type TfMsg } from './ros-messages.ts';
import { markScanHits, withObstacles } from './scan-obstacles.ts';

/**
 * How a goal ended. `no_data`: /map or /odom never came, /odom stopped mid-drive, or /scan went stale for
 * longer than the grace period. `blocked`: something not on the map stood in the way, and a plan around it
 * found no way.
 */
export type NavigationOutcome = 'reached' | 'unreachable' | 'timeout' | 'cancelled' | 'no_data' | 'blocked';

export interface NavigationResult {
  reached: boolean;
  outcome: NavigationOutcome;
  /** For people: why it failed, or where it arrived. */
  message: string;
  /** Length of the last plan, metres (a re-plan replaces it; 0 when no plan). */
  planLength: number;
  /** Sim or robot time the drive took, seconds (from message stamps). */
  elapsedS: number;
  /**
   * Where the robot was sent: the goal asked for, or, when that is too close to a wall for the robot, the
   * nearest spot it fits in (up to the planner's snapRadius away). Absent when no plan was made.
   */
  goal?: Point2D;
  /** Metres between the goal asked for and `goal`. */
  goalOffsetM?: number;
}

export type NavigationSafety = {
  /**
   * Milliseconds without /odom after which the robot is stopped and the goal ends with no_data: wall time,
   * stretched by 1 / timeScale when that is below 1.
   */
  odomTimeoutMs?: number;
  /** A /scan older than this (robot seconds, its stamp against the latest /odom stamp) does not count: no forward motion without one. */
  scanMaxAgeS?: number;
  /** Robot seconds without a fresh /scan after which the goal ends with no_data. */
  scanGraceS?: number;
  /** Robot seconds held back by the safety stop after which the navigator plans around what the scan sees. */
  blockedReplanS?: number;
};

export interface NavigateOptions {
  /** Give up after this many seconds of robot time (message stamps, so sim time in a sim). */
  timeoutS?: number;
  /** How long to wait (wall time) for /map and /odom before failing with no_data. */
  dataTimeoutMs?: number;
  signal?: AbortSignal;
}

export interface NavigatorOptions {
  bus: Bus;
  codec: MessageCodec;
  plan?: PlanOptions;
  follow?: PathFollowerOptions;
  topics?: { map?: string; odom?: string; scan?: string; cmdVel?: string; plan?: string; tfStatic?: string };
  /**
   * Robot seconds per wall second: 1 on a robot, the sim's speed in a sim. Below 1, the wall-clock
   * watchdogs stretch by its inverse, so a slow sim is not taken for a dead one.
   */
  timeScale?: number;
  safety?: NavigationSafety;
}

const SAFETY_DEFAULTS: Required<NavigationSafety> = { odomTimeoutMs: 500, scanMaxAgeS: 0.5, scanGraceS: 2, blockedReplanS: 3 };
// The wall-clock backstop on a goal's timeout: this many times the timeout, so it fires only when robot
// time stops advancing (a stuck stamp), never before the stamps would have ended the goal.
const WALL_TIMEOUT_FACTOR = 2;

interface ActiveGoal {
  /** The goal asked for. */
  requested: Point2D;
  /** Where the current plan ends (the requested goal, or the nearest spot the robot fits in). */
  goal: Point2D;
  follower: PathFollower;
  startS: number | undefined;
  planLength: number;
  timeoutS: number;
  /** Robot time since when no fresh /scan has been seen, while that lasts. */
  scanStaleSinceS: number | undefined;
  /** Robot time since when the safety stop has held the robot, while that lasts. */
  blockedSinceS: number | undefined;
  /** Cells the scan saw occupied while blocked (map indices); planned around until a new /map. */
  seenObstacles: Set<number>;
  watchdog: GoalWatchdog;
  finish: (result: NavigationResult) => void;
}

/**
 * The deterministic navigation skill: A* on /map, then a path follower that drives /cmd_vel from /odom,
 * with /scan as a safety frame. It runs entirely on the bus, as it would against a real robot. The plan
 * is also published on /plan (nav_msgs/msg/Path) for viewers.
 *
 * One goal at a time: a new goal cancels the current one. Every call settles.
 *
 * Safety frames, none of which trusts the plan: the robot never drives forward without a /scan newer than
 * scanMaxAgeS, and the goal ends (with a zero Twist) when /odom or /scan stay away, judged on the wall
 * clock for /odom (its stamps are the robot's clock, which stops with it) and on stamps for /scan. A new
 * /map re-plans the goal; so does being held up by something the map does not show.
 */
export class Navigator {
  #bus: Bus;
  #codec: MessageCodec;
  #planOptions: PlanOptions;
  #followOptions: PathFollowerOptions;
  #topics: Required<NonNullable<NavigatorOptions['topics']>>;
  #safety: Required<NavigationSafety>;
  #wallPerRobotS = 1;
  #subs: Subscription[] = [];
  #cmd: Publisher | undefined;
  #planPub: Publisher | undefined;
  #planner: PathPlanner | undefined;
  #mapBytes: Uint8Array | undefined;
  /** How many /map messages built a new planner (a republished, unchanged map does not). */
  mapsLoaded = 0;
  #pose: Pose2D | undefined;
  #poseTimeS = 0;
  #scan: FollowerScan | undefined;
  #scanStampS = 0;
  #active: ActiveGoal | undefined;
  // Counts navigateTo calls, so a call that waited for data knows whether a newer one came meanwhile.
  #calls = 0;
  #scanOrigin: Point2D | undefined;
  #dataWaiters: (() => void)[] = [];

  constructor(options: NavigatorOptions) {
    const { bus, codec, plan = {}, follow = {}, topics = {}, timeScale = 1, safety = {} } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#planOptions = plan;
    this.#followOptions = follow;
    this.#topics = { map: '/map', odom: '/odom', scan: '/scan', cmdVel: '/cmd_vel', plan: '/plan', tfStatic: '/tf_static', ...topics };
    this.#safety = { ...SAFETY_DEFAULTS, ...safety };
    this.setTimeScale(timeScale);
  }

  /** A new sim speed (a config reload): goals started from now on stretch their watchdogs by it. */
  setTimeScale(timeScale: number): void {
    if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
    this.#wallPerRobotS = 1 / Math.min(1, timeScale);
  }

  /** Robot seconds per wall second, as the watchdogs take it. */
  get timeScale(): number {
    return 1 / this.#wallPerRobotS;
  }

  get pose(): Pose2D | undefined {
    return this.#pose;
  }

  start(): void {
    const t = this.#topics;
    this.#cmd = this.#bus.advertise(t.cmdVel, 'geometry_msgs/msg/Twist', { source: 'navigator' });
    this.#planPub = this.#bus.advertise(t.plan, 'nav_msgs/msg/Path', { source: 'navigator', qos: { durability: 'transient_local', depth: 1 } });
    const sub = (topic: string, handler: (msg: BusMessage) => void) =>
      this.#subs.push(this.#bus.subscribe({ name: 'navigator', topic, queue: { policy: 'keep-latest' }, handler }));
    sub(t.map, (msg) => {
      // A map server or SLAM node may republish the same map: building a planner (clearance field, region
      // labels) costs time on big maps, so only a changed map is rebuilt. The CDR bytes tell.
      const previous = this.#mapBytes;
      if (previous && Buffer.from(previous.buffer, previous.byteOffset, previous.byteLength).equals(msg.data)) return;
      this.#mapBytes = msg.data;
      this.#planner = new PathPlanner(gridOf(this.#codec.decode<GridMsg>(msg.type, msg.data)), this.#planOptions);
      this.mapsLoaded++;
      this.#wakeDataWaiters();
      if (this.#active) this.#replanOnNewMap(this.#active);
    });
    sub(t.scan, (msg) => {
      const m = this.#codec.decode<ScanMsg>(msg.type, msg.data);
      this.#scan = scanOf(m);
      this.#scanStampS = stampS(m.header.stamp);
    });
    sub(t.odom, (msg) => this.#onOdom(this.#codec.decode<OdometryMsg>(msg.type, msg.data)));
    // Where the lidar sits on the base (base_link -> base_scan), so the safety stop measures from the
    // robot's front, not from the scanner.
    sub(t.tfStatic, (msg) => {
      this.#scanOrigin = scanMountOf(this.#codec.decode<TfMsg>(msg.type, msg.data)) ?? this.#scanOrigin;
    });
  }

  stop(): void {
    this.cancel('navigator stopped');
    for (const s of this.#subs) this.#bus.unsubscribe(s);
    this.#subs = [];
    this.#cmd?.close();
    this.#planPub?.close();
  }

  /** Plans to `goal` and drives there. Resolves (never rejects) with what happened. */
  async navigateTo(goal: Point2D, options: NavigateOptions = {}): Promise<NavigationResult> {
    const { timeoutS = 300, dataTimeoutMs = 5000, signal } = options;
    const call = ++this.#calls;
    const superseded = 'superseded by a new goal';
    this.cancel(superseded);
    const fail = (outcome: NavigationOutcome, message: string): NavigationResult => ({ reached: false, outcome, message, planLength: 0, elapsedS: 0 });
    const haveData = await this.#waitForData(dataTimeoutMs);
    // Another call came while this one waited: that one is the goal now.
    if (call !== this.#calls) return fail('cancelled', superseded);
    if (!haveData) {
      const missing = [!this.#planner && this.#topics.map, !this.#pose && this.#topics.odom].filter(Boolean).join(' and ');
      return fail('no_data', `no ${missing} received within ${dataTimeoutMs} ms: is the robot (or sim) running?`);
    }
    const start = this.#pose!;
    const plan = this.#planner!.plan(start, goal);
    if (!plan.ok) return fail('unreachable', plan.message);
    this.#publishPlan(plan.path);
    if (signal?.aborted) return fail('cancelled', `${abortReason(signal)} before the robot moved`);
    return new Promise<NavigationResult>((resolve) => {
      const onAbort = () => this.cancel(abortReason(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const { odomTimeoutMs } = this.#safety;
      const silenceMs = odomTimeoutMs * this.#wallPerRobotS;
      const limitMs = WALL_TIMEOUT_FACTOR * timeoutS * 1000 * this.#wallPerRobotS;
      const active: ActiveGoal = {
        requested: goal,
        goal: plan.goal,
        follower: this.#follower(plan.path),
        startS: undefined,
        planLength: plan.length,
        timeoutS,
        scanStaleSinceS: undefined,
        blockedSinceS: undefined,
        seenObstacles: new Set(),
        watchdog: new GoalWatchdog({
          silenceMs,
          limitMs,
          onSilence: () =>
            this.#end(active, {
              reached: false,
              outcome: 'no_data',
              message: `no ${this.#topics.odom} for ${Math.round(silenceMs)} ms: the robot (or sim) stopped publishing odometry, or is paused; stopped it`,
            }),
          onLimit: () =>
            this.#end(active, {
              reached: false,
              outcome: 'timeout',
              message: `did not reach ${formatPoint(goal)} within ${timeoutS} s: robot time (${this.#topics.odom} stamps) stopped advancing, and ${Math.round(limitMs / 1000)} s of wall time passed`,
            }),
        }),
        finish: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
      this.#active = active;
    });
  }

  /** Stops the current goal (if any) and the robot. */
  cancel(reason: string): void {
    const active = this.#active;
    if (!active) return;
    this.#end(active, { reached: false, outcome: 'cancelled', message: reason });
  }

  #onOdom(m: OdometryMsg): void {
    this.#pose = poseOf(m);
    const now = stampS(m.header.stamp);
    this.#poseTimeS = now;
    this.#wakeDataWaiters();
    const active = this.#active;
    if (!active) return;
    active.watchdog.feed();
    active.startS ??= now;
    if (now - active.startS > active.timeoutS) {
      this.#end(active, { reached: false, outcome: 'timeout', message: `did not reach ${formatPoint(active.requested)} within ${active.timeoutS} s` });
      return;
    }
    const { scanMaxAgeS, scanGraceS, blockedReplanS } = this.#safety;
    const scanAge = this.#scan ? now - this.#scanStampS : Infinity;
    const scanFresh = scanAge <= scanMaxAgeS;
    const command = active.follower.update(this.#pose, scanFresh ? this.#scan : undefined);
    if (command.done) {
      this.#end(active, { reached: true, outcome: 'reached', message: reachedMessage(active) });
      return;
    }
    if (!scanFresh) {
      // The scan is the safety frame: without a recent one the robot holds still, and after a grace
      // period (a lidar restarting) the goal ends.
      active.scanStaleSinceS ??= now;
      if (now - active.scanStaleSinceS >= scanGraceS) {
        const last = this.#scan ? `the last one is ${scanAge.toFixed(2)} s older than ${this.#topics.odom}` : 'none has arrived';
        this.#end(active, {
          reached: false,
          outcome: 'no_data',
          message: `no ${this.#topics.scan} newer than ${scanMaxAgeS} s for ${scanGraceS} s (${last}): the safety stop needs the lidar, so the robot stopped`,
        });
      } else this.#sendTwist(0, 0);
      return;
    }
    active.scanStaleSinceS = undefined;
    if (command.blocked) {
      active.blockedSinceS ??= now;
      if (now - active.blockedSinceS >= blockedReplanS && !this.#planAround(active, this.#scan!)) return;
    } else active.blockedSinceS = undefined;
    this.#sendTwist(command.linear, command.angular);
  }

  /** A new /map: the goal is planned again on it, from where the robot is. */
  #replanOnNewMap(active: ActiveGoal): void {
    // Obstacles seen by the scan were marked on the old map's cells; the new map is the better source.
    active.seenObstacles.clear();
    const plan = this.#planner!.plan(this.#pose!, active.requested);
    if (!plan.ok) {
      this.#end(active, { reached: false, outcome: 'unreachable', message: `after a new ${this.#topics.map}: ${plan.message}` });
      return;
    }
    this.#adopt(active, plan);
  }

  /**
   * The safety stop has held the robot for blockedReplanS: something not on the map is in the way. Marks
   * what the scan sees as obstacles (kept for the rest of the goal, so two blocked routes are not tried in
   * turn forever) and plans around them. Ends the goal as blocked, and returns false, when there is no way.
   */
  #planAround(active: ActiveGoal, scan: FollowerScan): boolean {
    const grid = this.#planner!.grid;
    const pose = this.#pose!;
    markScanHits(grid, pose, scan, this.#scanOrigin ?? { x: 0, y: 0 }, active.seenObstacles);
    const plan = new PathPlanner(withObstacles(grid, active.seenObstacles), this.#planOptions).plan(pose, active.requested);
    if (!plan.ok) {
      this.#end(active, {
        reached: false,
        outcome: 'blocked',
        message: `blocked at ${formatPoint(pose)} by an obstacle that is not on the map, with no way around it: ${plan.message}`,
      });
      return false;
    }
    this.#adopt(active, plan);
    return true;
  }

  #adopt(active: ActiveGoal, plan: { path: Point2D[]; length: number; goal: Point2D }): void {
    active.follower = this.#follower(plan.path);
    active.goal = plan.goal;
    active.planLength = plan.length;
    active.blockedSinceS = undefined;
    this.#publishPlan(plan.path);
  }

  #follower(path: readonly Point2D[]): PathFollower {
    return new PathFollower(path, { ...(this.#scanOrigin ? { scanOrigin: this.#scanOrigin } : {}), ...this.#followOptions });
  }

  #end(active: ActiveGoal, result: Pick<NavigationResult, 'reached' | 'outcome' | 'message'>): void {
    active.watchdog.stop();
    if (this.#active === active) this.#active = undefined;
    this.#sendTwist(0, 0);
    active.finish({
      ...result,
      planLength: active.planLength,
      elapsedS: active.startS === undefined ? 0 : this.#poseTimeS - active.startS,
      goal: active.goal,
      goalOffsetM: distance(active.goal, active.requested),
    });
  }

  #sendTwist(linear: number, angular: number): void {
    if (!this.#cmd) return;
    this.#cmd.publish(this.#codec.encode('geometry_msgs/msg/Twist', { linear: { x: linear, y: 0, z: 0 }, angular: { x: 0, y: 0, z: angular } }));
  }

  #publishPlan(path: readonly Point2D[]): void {
    const stamp = { sec: Math.floor(this.#poseTimeS), nanosec: Math.round((this.#poseTimeS % 1) * 1e9) % 1_000_000_000 };
    const poses = path.map((p) => ({ header: { stamp, frame_id: 'map' }, pose: { position: { x: p.x, y: p.y, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } } }));
    this.#planPub?.publish(this.#codec.encode('nav_msgs/msg/Path', { header: { stamp, frame_id: 'map' }, poses }));
  }

  #waitForData(timeoutMs: number): Promise<boolean> {
    if (this.#planner && this.#pose) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(false), timeoutMs);
      const check = () => {
        if (this.#planner && this.#pose) {
          clearTimeout(timer);
          resolve(true);
        } else this.#dataWaiters.push(check);
      };
      this.#dataWaiters.push(check);
    });
  }

  #wakeDataWaiters(): void {
    const waiters = this.#dataWaiters.splice(0);
    for (const w of waiters) w();
  }
}

const distance = (a: Point2D, b: Point2D) => Math.hypot(a.x - b.x, a.y - b.y);

/** "reached (x, y)", naming the spot the robot was sent to when the planner moved the goal off a wall. */
function reachedMessage(active: ActiveGoal): string {
  const offset = distance(active.goal, active.requested);
  if (offset < 0.005) return `reached ${formatPoint(active.requested)}`;
  return `reached ${formatPoint(active.goal)}, the nearest spot the robot fits in to ${formatPoint(active.requested)} (${offset.toFixed(2)} m from it)`;
}

/** Why a goal was cancelled, in words: superseded by another goal, stopped, or its run cancelled. */
function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return typeof reason === 'string' && reason !== '' ? reason : 'cancelled';
}
