import type { Bus, Publisher, Subscription } from '../bus/bus.ts';
import type { MessageCodec } from '../bus/codec.ts';
import type { BusMessage } from '../bus/types.ts';
import { PathPlanner, type PlanOptions } from './astar.ts';
import { formatPoint, type Point2D, type Pose2D } from './geometry.ts';
import type { Grid } from './grid.ts';
import { PathFollower, type FollowerScan, type PathFollowerOptions } from './path-follower.ts';

export type NavigationOutcome = 'reached' | 'unreachable' | 'timeout' | 'cancelled' | 'no_data';

export interface NavigationResult {
  reached: boolean;
  outcome: NavigationOutcome;
  /** For people: why it failed, or where it arrived. */
  message: string;
  /** Planned path length, metres (0 when no plan). */
  planLength: number;
  /** Sim or robot time the drive took, seconds (from message stamps). */
  elapsedS: number;
}

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
}

type Stamp = { sec: number; nanosec: number };
type OdometryMsg = {
  header: { stamp: Stamp };
  pose: { pose: { position: { x: number; y: number }; orientation: { x: number; y: number; z: number; w: number } } };
};
type ScanMsg = { angle_min: number; angle_increment: number; ranges: Float32Array };
type TfMsg = { transforms: { header: { frame_id: string }; child_frame_id: string; transform: { translation: { x: number; y: number } } }[] };
type GridMsg = {
  info: { resolution: number; width: number; height: number; origin: { position: { x: number; y: number } } };
  data: Int8Array;
};

interface ActiveGoal {
  goal: Point2D;
  follower: PathFollower;
  startS: number | undefined;
  planLength: number;
  timeoutS: number;
  finish: (result: NavigationResult) => void;
}

const stampS = (s: Stamp) => s.sec + s.nanosec / 1e9;

/**
 * The deterministic navigation skill: A* on /map, then a path follower that drives /cmd_vel from /odom,
 * with /scan as a safety frame. It runs entirely on the bus, as it would against a real robot. The plan
 * is also published on /plan (nav_msgs/msg/Path) for viewers.
 *
 * One goal at a time: a new goal cancels the current one.
 */
export class Navigator {
  #bus: Bus;
  #codec: MessageCodec;
  #planOptions: PlanOptions;
  #followOptions: PathFollowerOptions;
  #topics: Required<NonNullable<NavigatorOptions['topics']>>;
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
  #active: ActiveGoal | undefined;
  #scanOrigin: Point2D | undefined;
  #dataWaiters: (() => void)[] = [];

  constructor(options: NavigatorOptions) {
    const { bus, codec, plan = {}, follow = {}, topics = {} } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#planOptions = plan;
    this.#followOptions = follow;
    this.#topics = { map: '/map', odom: '/odom', scan: '/scan', cmdVel: '/cmd_vel', plan: '/plan', tfStatic: '/tf_static', ...topics };
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
      const m = this.#codec.decode<GridMsg>(msg.type, msg.data);
      const grid: Grid = { width: m.info.width, height: m.info.height, resolution: m.info.resolution, origin: { x: m.info.origin.position.x, y: m.info.origin.position.y }, data: m.data };
      this.#planner = new PathPlanner(grid, this.#planOptions);
      this.mapsLoaded++;
      this.#wakeDataWaiters();
    });
    sub(t.scan, (msg) => {
      const m = this.#codec.decode<ScanMsg>(msg.type, msg.data);
      this.#scan = { ranges: m.ranges, angleMin: m.angle_min, angleIncrement: m.angle_increment };
    });
    sub(t.odom, (msg) => this.#onOdom(this.#codec.decode<OdometryMsg>(msg.type, msg.data)));
    // Where the lidar sits on the base (base_link -> base_scan), so the safety stop measures from the
    // robot's front, not from the scanner.
    sub(t.tfStatic, (msg) => {
      const m = this.#codec.decode<TfMsg>(msg.type, msg.data);
      const mount = m.transforms.find((tf) => tf.child_frame_id === 'base_scan' && tf.header.frame_id === 'base_link');
      if (mount) this.#scanOrigin = { x: mount.transform.translation.x, y: mount.transform.translation.y };
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
    this.cancel('superseded by a new goal');
    const fail = (outcome: NavigationOutcome, message: string): NavigationResult => ({ reached: false, outcome, message, planLength: 0, elapsedS: 0 });
    if (!(await this.#waitForData(dataTimeoutMs))) {
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
      this.#active = {
        goal,
        follower: new PathFollower(plan.path, { ...(this.#scanOrigin ? { scanOrigin: this.#scanOrigin } : {}), ...this.#followOptions }),
        startS: undefined,
        planLength: plan.length,
        timeoutS,
        finish: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        },
      };
    });
  }

  /** Stops the current goal (if any) and the robot. */
  cancel(reason: string): void {
    const active = this.#active;
    if (!active) return;
    this.#end(active, { reached: false, outcome: 'cancelled', message: reason });
  }

  #onOdom(m: OdometryMsg): void {
    const q = m.pose.pose.orientation;
    this.#pose = {
      x: m.pose.pose.position.x,
      y: m.pose.pose.position.y,
      yaw: Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z)),
    };
    this.#poseTimeS = stampS(m.header.stamp);
    this.#wakeDataWaiters();
    const active = this.#active;
    if (!active) return;
    active.startS ??= this.#poseTimeS;
    if (this.#poseTimeS - active.startS > active.timeoutS) {
      this.#end(active, { reached: false, outcome: 'timeout', message: `did not reach ${formatPoint(active.goal)} within ${active.timeoutS} s` });
      return;
    }
    const command = active.follower.update(this.#pose, this.#scan);
    if (command.done) {
      this.#end(active, { reached: true, outcome: 'reached', message: `reached ${formatPoint(active.goal)}` });
      return;
    }
    this.#sendTwist(command.linear, command.angular);
  }

  #end(active: ActiveGoal, result: Pick<NavigationResult, 'reached' | 'outcome' | 'message'>): void {
    if (this.#active === active) this.#active = undefined;
    this.#sendTwist(0, 0);
    active.finish({ ...result, planLength: active.planLength, elapsedS: active.startS === undefined ? 0 : this.#poseTimeS - active.startS });
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

/** Why a goal was cancelled, in words: superseded by another goal, stopped, or its run cancelled. */
function abortReason(signal: AbortSignal): string {
  const reason: unknown = signal.reason;
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message;
  return typeof reason === 'string' && reason !== '' ? reason : 'cancelled';
}
