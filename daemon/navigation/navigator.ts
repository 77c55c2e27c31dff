import type { Bus, BusMessage, MessageCodec, Subscription } from '../bus/index.ts';
import { type ActiveGoal, goalBackstops } from './active-goal.ts';
import { DataWaiters } from './data-waiters.ts';
import { PathPlanner, type PlanOptions } from './astar.ts';
import type { NavigateOptions, NavigationResult, NavigationSafety, NavigatorOptions } from './navigation-types.ts';
import { formatPoint, type Point2D, type Pose2D } from './geometry.ts';
import { abortReason, distance, notFinite, notStarted, reachedMessage } from './goal-text.ts';
import { PathFollower, type FollowerScan, type PathFollowerOptions } from './path-follower.ts';
import { gridProblem } from './grid.ts';
import {
  gridOf,
  poseOf,
  scanMountOf,
  scanOf,
  stampS,
  type GridMsg,
  type OdometryMsg,
  type ScanMsg,
  type TfMsg,
} from './ros-messages.ts';
import { markScanHits, withObstacles } from './scan-obstacles.ts';
import { NavigatorOutputs } from './navigator-outputs.ts';

export type {
  NavigateOptions,
  NavigationOutcome,
  NavigationResult,
  NavigationSafety,
  NavigatorOptions,
} from './navigation-types.ts';

const SAFETY_DEFAULTS: Required<NavigationSafety> = {
  odomTimeoutMs: 500,
  scanMaxAgeS: 0.5,
  scanGraceS: 2,
  blockedReplanS: 3,
  offPathReplanM: 0.5,
};

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
  #outputs: NavigatorOutputs | undefined;
  #planner: PathPlanner | undefined;
  #mapBytes: Uint8Array | undefined;
  /** How many /map messages built a new planner (a republished, unchanged map does not). */
  mapsLoaded = 0;
  /** How many /map messages were refused as unusable (the previous map stays; the bus reports each one's error). */
  mapsRejected = 0;
  #pose: Pose2D | undefined;
  #poseTimeS = 0;
  #scan: FollowerScan | undefined;
  #scanStampS = 0;
  #active: ActiveGoal | undefined;
  // Counts navigateTo calls, so a call that waited for data knows whether a newer one came meanwhile.
  #calls = 0;
  #closed = false;
  #scanOrigin: Point2D | undefined;
  #dataWaiters = new DataWaiters();

  constructor(options: NavigatorOptions) {
    const { bus, codec, plan = {}, follow = {}, topics = {}, timeScale = 1, safety = {} } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#planOptions = plan;
    this.#followOptions = follow;
    this.#topics = {
      map: '/map',
      odom: '/odom',
      scan: '/scan',
      cmdVel: '/cmd_vel',
      plan: '/plan',
      tfStatic: '/tf_static',
      ...topics,
    };
    this.#safety = { ...SAFETY_DEFAULTS, ...safety };
    this.setTimeScale(timeScale);
  }

  /** A new sim speed (a config reload): goals started from now on stretch their watchdogs by it. */
  setTimeScale(timeScale: number): void {
    if (!(timeScale > 0)) throw new RangeError(`timeScale must be > 0, got ${timeScale}`);
    this.#wallPerRobotS = 1 / Math.min(1, timeScale);
  }

  /** Wall milliseconds without odometry that end a goal, before the time scale stretches them. */
  get odomTimeoutMs(): number {
    return this.#safety.odomTimeoutMs;
  }

  /** Robot seconds per wall second, as the watchdogs take it. */
  get timeScale(): number {
    return 1 / this.#wallPerRobotS;
  }

  get pose(): Pose2D | undefined {
    return this.#pose;
  }

  start(): void {
    this.#closed = false;
    const t = this.#topics;
    this.#outputs = new NavigatorOutputs(this.#bus, this.#codec, t);
    const sub = (topic: string, handler: (msg: BusMessage) => void) =>
      this.#subs.push(this.#bus.subscribe({ name: 'navigator', topic, queue: { policy: 'keep-latest' }, handler }));
    sub(t.map, (msg) => {
      // A map server or SLAM node may republish the same map: building a planner (clearance field, region
      // labels) costs time on big maps, so only a changed map is rebuilt. The CDR bytes tell.
      const previous = this.#mapBytes;
      if (previous && Buffer.from(previous.buffer, previous.byteOffset, previous.byteLength).equals(msg.data)) return;
      const grid = gridOf(this.#codec.decode<GridMsg>(msg.type, msg.data));
      // A broken map would plan nonsense (a zero resolution puts every point in a NaN cell): the last good
      // one stays, and the error (thrown to the bus) is counted and logged there.
      const problem = gridProblem(grid);
      if (problem) {
        this.mapsRejected++;
        throw new RangeError(`${this.#topics.map} refused: ${problem}; the navigator keeps the previous map`);
      }
      this.#mapBytes = msg.data;
      this.#planner = new PathPlanner(grid, this.#planOptions);
      this.mapsLoaded++;
      this.#dataWaiters.wake();
      if (this.#active) this.#replan(this.#active, `after a new ${this.#topics.map}`);
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

  close(): void {
    this.#closed = true;
    this.cancel('navigator stopped');
    this.#dataWaiters.wake();
    for (const s of this.#subs) this.#bus.unsubscribe(s);
    this.#subs = [];
    this.#outputs?.close();
  }

  /** Plans to `goal` and drives there. Resolves (never rejects) with what happened. */
  async navigateTo(goal: Point2D, options: NavigateOptions = {}): Promise<NavigationResult> {
    const { timeoutS = 300, dataTimeoutMs = 5000, signal } = options;
    // A call already cancelled, or with no point to go to, acts on nothing: the current goal, if any, goes on.
    if (signal?.aborted) return notStarted('cancelled', `${abortReason(signal)} before the robot moved`);
    const notAPoint = notFinite({ x: goal.x, y: goal.y });
    if (notAPoint)
      return notStarted('unreachable', `goal (${goal.x}, ${goal.y}) is not a point on the map: ${notAPoint}`);
    const call = ++this.#calls;
    const superseded = 'superseded by a new goal';
    this.cancel(superseded);
    // An older call still waiting for data is superseded too, and must not wait out its data timeout.
    this.#dataWaiters.wake();
    const data = await this.#dataWaiters.wait(dataTimeoutMs, signal, {
      ready: () => Boolean(this.#planner && this.#pose),
      ended: () => call !== this.#calls || this.#closed,
    });
    // The signal's reason first: when another run took the robot, it names that run (the newer call, which
    // also makes `call` stale, can only say that some goal came).
    if (signal?.aborted) return notStarted('cancelled', `${abortReason(signal)} before the robot moved`);
    if (this.#closed) return notStarted('cancelled', 'navigator stopped before the robot moved');
    // Another call came while this one waited: that one is the goal now.
    if (call !== this.#calls) return notStarted('cancelled', superseded);
    if (data === 'timeout') {
      const missing = [!this.#planner && this.#topics.map, !this.#pose && this.#topics.odom]
        .filter(Boolean)
        .join(' and ');
      return notStarted('no_data', `no ${missing} received within ${dataTimeoutMs} ms: is the robot (or sim) running?`);
    }
    const start = this.#pose!;
    const plan = this.#planner!.plan(start, goal);
    if (!plan.ok) return notStarted('unreachable', plan.message);
    this.#publishPlan(plan.path);
    if (signal?.aborted) return notStarted('cancelled', `${abortReason(signal)} before the robot moved`);
    return new Promise<NavigationResult>((resolve) => {
      const onAbort = () => this.cancel(abortReason(signal!));
      signal?.addEventListener('abort', onAbort, { once: true });
      const active: ActiveGoal = {
        requested: goal,
        goal: plan.goal,
        follower: this.#follower(plan.path),
        startS: undefined,
        commanded: false,
        planLength: plan.length,
        timeoutS,
        scanStaleSinceS: undefined,
        blockedSinceS: undefined,
        seenObstacles: new Set(),
        watchdog: goalBackstops(
          {
            goal,
            timeoutS,
            odomTopic: this.#topics.odom,
            odomTimeoutMs: this.#safety.odomTimeoutMs,
            wallPerRobotS: this.#wallPerRobotS,
          },
          (result) => this.#end(active, result),
        ),
        finish: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
      this.#active = active;
      // Already there (within the tolerance): no /odom needs to come to say so.
      if (active.follower.update(start).done)
        this.#end(active, { reached: true, outcome: 'reached', message: reachedMessage(goal, plan.goal) });
    });
  }

  /** Stops the current goal (if any) and the robot. */
  cancel(reason: string): void {
    const active = this.#active;
    if (!active) return;
    this.#end(active, { reached: false, outcome: 'cancelled', message: reason });
  }

  #onOdom(m: OdometryMsg): void {
    const pose = poseOf(m);
    const bad = notFinite(pose);
    if (bad) {
      // A broken localization: no pose to plan or steer by, and a NaN would reach /cmd_vel. Not taken as a
      // pose (a call waiting for data keeps waiting); a goal being driven ends with the robot stopped.
      if (this.#active)
        this.#end(this.#active, {
          reached: false,
          outcome: 'no_data',
          message: `${this.#topics.odom} gave a pose that is not a number (${bad}): is the robot localized? Stopped it`,
        });
      return;
    }
    this.#pose = pose;
    const now = stampS(m.header.stamp);
    this.#poseTimeS = now;
    this.#dataWaiters.wake();
    const active = this.#active;
    if (!active) return;
    active.watchdog.feed();
    active.startS ??= now;
    if (now - active.startS > active.timeoutS) {
      this.#end(active, {
        reached: false,
        outcome: 'timeout',
        message: `did not reach ${formatPoint(active.requested)} within ${active.timeoutS} s`,
      });
      return;
    }
    const { scanMaxAgeS, scanGraceS, blockedReplanS } = this.#safety;
    const scanAge = this.#scan ? now - this.#scanStampS : Infinity;
    const scanFresh = scanAge <= scanMaxAgeS;
    let command = active.follower.update(pose, scanFresh ? this.#scan : undefined);
    const { offPathReplanM } = this.#safety;
    if (!command.done && active.follower.offPathM > offPathReplanM) {
      // The pose jumped (a teleport, a localization reset): the path no longer leads from here.
      if (
        !this.#replan(active, `after ${this.#topics.odom} jumped ${active.follower.offPathM.toFixed(2)} m off the path`)
      )
        return;
      command = active.follower.update(pose, scanFresh ? this.#scan : undefined);
    }
    if (command.done) {
      this.#end(active, { reached: true, outcome: 'reached', message: reachedMessage(active.requested, active.goal) });
      return;
    }
    if (!scanFresh) {
      // The scan is the safety frame: without a recent one the robot holds still, and after a grace
      // period (a lidar restarting) the goal ends.
      active.scanStaleSinceS ??= now;
      if (now - active.scanStaleSinceS >= scanGraceS) {
        const last = this.#scan
          ? `the last one is ${scanAge.toFixed(2)} s older than ${this.#topics.odom}`
          : 'none has arrived';
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
    if (command.linear !== 0 || command.angular !== 0) active.commanded = true;
    this.#sendTwist(command.linear, command.angular);
  }

  /**
   * The goal planned again from where the robot is: on a new /map, or after the pose jumped. Ends the goal
   * as unreachable, and returns false, when there is no way from here; `why` starts that message.
   */
  #replan(active: ActiveGoal, why: string): boolean {
    // Obstacles seen by the scan were marked on cells of the map and pose they were seen from; a new map
    // is the better source, and after a jump they may stand in the wrong place.
    active.seenObstacles.clear();
    const plan = this.#planner!.plan(this.#pose!, active.requested);
    if (!plan.ok) {
      this.#end(active, { reached: false, outcome: 'unreachable', message: `${why}: ${plan.message}` });
      return false;
    }
    this.#adopt(active, plan);
    return true;
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
    const plan = new PathPlanner(withObstacles(grid, active.seenObstacles), this.#planOptions).plan(
      pose,
      active.requested,
    );
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
    return new PathFollower(path, {
      ...(this.#scanOrigin ? { scanOrigin: this.#scanOrigin } : {}),
      ...this.#followOptions,
    });
  }

  #end(active: ActiveGoal, result: Pick<NavigationResult, 'reached' | 'outcome' | 'message'>): void {
    active.watchdog.close();
    if (this.#active === active) this.#active = undefined;
    this.#sendTwist(0, 0);
    // an empty /plan: no goal is active now, so a viewer (the status page's map) stops drawing the last one
    if (!this.#active) this.#publishPlan([]);
    active.finish({
      ...result,
      planLength: active.planLength,
      elapsedS: active.startS === undefined ? 0 : this.#poseTimeS - active.startS,
      commanded: active.commanded,
      goal: active.goal,
      goalOffsetM: distance(active.goal, active.requested),
    });
  }

  #sendTwist(linear: number, angular: number): void {
    this.#outputs?.twist(linear, angular);
  }

  #publishPlan(path: readonly Point2D[]): void {
    this.#outputs?.plan(path, this.#poseTimeS);
  }
}
