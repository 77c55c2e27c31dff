import type { Bus, Subscription } from '../../bus/index.ts';
import type { MessageCodec } from '../../bus/index.ts';
import type { BusMessage } from '../../bus/index.ts';
import { compose, scanPoints, StaticFrames, type LaserScanMsg, type Pose2D } from './live-scan.ts';

type Quaternion = { x: number; y: number; z: number; w: number };
type Vec3 = { x: number; y: number; z: number };
interface OccupancyGridMsg {
  header: { frame_id: string };
  info: { resolution: number; width: number; height: number; origin: { position: Vec3; orientation: Quaternion } };
  data: Int8Array;
}
interface OdometryMsg {
  header: { frame_id: string };
  child_frame_id: string;
  pose: { pose: { position: Vec3; orientation: Quaternion } };
  twist: { twist: { linear: Vec3; angular: Vec3 } };
}
interface PathMsg {
  header: { frame_id: string };
  poses: { pose: { position: Vec3 } }[];
}
interface TfMsg {
  transforms: {
    header: { frame_id: string };
    child_frame_id: string;
    transform: { translation: Vec3; rotation: Quaternion };
  }[];
}

export type LiveKind = 'map' | 'pose' | 'plan' | 'scan';

export interface LiveMapTopics {
  map: string;
  odom: string;
  plan: string;
  scan: string;
  tf: string;
  tfStatic: string;
}

export interface LiveMapOptions {
  bus: Bus;
  codec: MessageCodec;
  topics?: Partial<LiveMapTopics>;
  /** Most pose updates per second sent to viewers. */
  poseHz?: number;
  /** Most points of a plan sent to viewers (longer plans are thinned). */
  maxPlanPoints?: number;
  /** Most points of a scan sent to viewers (denser scans are thinned). */
  maxScanPoints?: number;
}

const yawOf = (q: Quaternion): number => Math.atan2(2 * (q.w * q.z + q.x * q.y), 1 - 2 * (q.y * q.y + q.z * q.z));
const round = (v: number, digits = 3): number => Math.round(v * 10 ** digits) / 10 ** digits;

/**
 * The status page's 2D view, server side: it subscribes to the map, odometry, plan and scan topics (keep-latest
 * queues, so a burst never queues up), decodes the fields it needs with the codec, and keeps the latest of
 * each as compact JSON. The robot's pose is put in the map frame through a map -> odom transform from
 * /tf or /tf_static when one is published (identity otherwise), with its speed from the odometry's twist; the
 * scan's hits are put there from the robot's pose and where /tf_static says the laser sits on it. Viewers get
 * the latest of each kind.
 */
export class LiveMap {
  #codec: MessageCodec;
  #bus: Bus;
  #subs: Subscription[] = [];
  #latest = new Map<LiveKind, string>();
  #listeners = new Set<(kind: LiveKind, json: string) => void>();
  #mapToOdom = { x: 0, y: 0, yaw: 0 };
  #odom: OdometryMsg | undefined;
  #poseDirty = false;
  #scan: LaserScanMsg | undefined;
  #staticFrames = new StaticFrames();
  #maxScanPoints: number;
  #timer: NodeJS.Timeout;
  #maxPlanPoints: number;
  /** Messages that could not be decoded (bad CDR, unknown type), by topic. */
  readonly decodeErrors = new Map<string, number>();

  constructor(options: LiveMapOptions) {
    const { bus, codec, topics = {}, poseHz = 10, maxPlanPoints = 500, maxScanPoints = 360 } = options;
    const t: LiveMapTopics = {
      map: '/map',
      odom: '/odom',
      plan: '/plan',
      scan: '/scan',
      tf: '/tf',
      tfStatic: '/tf_static',
      ...topics,
    };
    this.#bus = bus;
    this.#codec = codec;
    this.#maxPlanPoints = maxPlanPoints;
    this.#maxScanPoints = maxScanPoints;
    const on = (topic: string, handler: (msg: BusMessage) => void): void => {
      this.#subs.push(
        bus.subscribe({
          name: 'api:live-map',
          topic,
          queue: { policy: 'keep-latest', depth: 1 },
          handler: (msg) => this.#guard(msg, handler),
        }),
      );
    };
    on(t.map, (msg) => this.#onMap(this.#codec.decode<OccupancyGridMsg>(msg.type, msg.data)));
    on(t.plan, (msg) => this.#onPlan(this.#codec.decode<PathMsg>(msg.type, msg.data)));
    on(t.odom, (msg) => {
      this.#odom = this.#codec.decode<OdometryMsg>(msg.type, msg.data);
      this.#poseDirty = true;
    });
    on(t.scan, (msg) => (this.#scan = this.#codec.decode<LaserScanMsg>(msg.type, msg.data)));
    on(t.tf, (msg) => this.#onTf(this.#codec.decode<TfMsg>(msg.type, msg.data)));
    on(t.tfStatic, (msg) => this.#onTf(this.#codec.decode<TfMsg>(msg.type, msg.data), this.#staticFrames));
    // Odometry comes at 30 Hz and more, scans at 5-40 Hz; viewers need a steady few updates a second.
    this.#timer = setInterval(() => this.#flushPose(), 1000 / poseHz);
    this.#timer.unref();
  }

  /** The latest JSON of each kind seen so far, for a viewer that just connected. */
  snapshot(): [LiveKind, string][] {
    return [...this.#latest];
  }

  /** Calls `listener` with each update. Returns an unlisten function. */
  listen(listener: (kind: LiveKind, json: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  close(): void {
    clearInterval(this.#timer);
    for (const s of this.#subs) this.#bus.unsubscribe(s);
    this.#subs = [];
    this.#listeners.clear();
  }

  #guard(msg: BusMessage, handler: (msg: BusMessage) => void): void {
    try {
      handler(msg);
    } catch {
      // A malformed message must not stop the view: it is counted (auraison_live_map_decode_errors_total).
      this.decodeErrors.set(msg.topic, (this.decodeErrors.get(msg.topic) ?? 0) + 1);
    }
  }

  #emit(kind: LiveKind, value: unknown): void {
    const json = JSON.stringify(value);
    this.#latest.set(kind, json);
    for (const l of this.#listeners) l(kind, json);
  }

  #onMap(m: OccupancyGridMsg): void {
    const { info } = m;
    const cells = Buffer.from(m.data.buffer, m.data.byteOffset, m.data.byteLength).toString('base64');
    this.#emit('map', {
      frame: m.header.frame_id,
      width: info.width,
      height: info.height,
      resolution: info.resolution,
      origin: { x: info.origin.position.x, y: info.origin.position.y, yaw: yawOf(info.origin.orientation) },
      cells,
    });
  }

  #onPlan(p: PathMsg): void {
    const step = Math.max(1, Math.ceil(p.poses.length / this.#maxPlanPoints));
    const points: [number, number][] = [];
    for (let i = 0; i < p.poses.length; i += step)
      points.push([round(p.poses[i]!.pose.position.x), round(p.poses[i]!.pose.position.y)]);
    const last = p.poses.at(-1);
    if (last && (p.poses.length - 1) % step !== 0)
      points.push([round(last.pose.position.x), round(last.pose.position.y)]);
    this.#emit('plan', { frame: p.header.frame_id, points });
  }

  /** Takes the map -> odom transform, and (from /tf_static) every fixed frame of the robot into `frames`. */
  #onTf(tf: TfMsg, frames?: StaticFrames): void {
    for (const t of tf.transforms) {
      const { translation, rotation } = t.transform;
      frames?.set(t.header.frame_id, t.child_frame_id, { x: translation.x, y: translation.y, yaw: yawOf(rotation) });
      if (t.header.frame_id.replace(/^\//, '') === 'map' && t.child_frame_id.replace(/^\//, '') === 'odom') {
        this.#mapToOdom = {
          x: t.transform.translation.x,
          y: t.transform.translation.y,
          yaw: yawOf(t.transform.rotation),
        };
        this.#poseDirty = true;
      }
    }
  }

  #flushPose(): void {
    const odom = this.#odom;
    if (!odom) return;
    const p = odom.pose.pose;
    const robot = compose(this.#mapToOdom, { x: p.position.x, y: p.position.y, yaw: yawOf(p.orientation) });
    if (this.#poseDirty) {
      this.#poseDirty = false;
      const { linear, angular } = odom.twist.twist;
      this.#emit('pose', {
        frame: 'map',
        x: round(robot.x),
        y: round(robot.y),
        yaw: round(robot.yaw),
        linear: round(linear.x),
        angular: round(angular.z),
      });
    }
    if (this.#scan) this.#flushScan(this.#scan, robot, odom.child_frame_id);
    this.#scan = undefined;
  }

  #flushScan(scan: LaserScanMsg, robot: Pose2D, base: string): void {
    const laser = compose(robot, this.#staticFrames.inBase(scan.header.frame_id, base));
    this.#emit('scan', { frame: 'map', points: scanPoints(scan, laser, this.#maxScanPoints) });
  }
}
