import type { Bus, MessageCodec, Publisher } from '../bus/index.ts';
import type { Point2D } from './geometry.ts';

/** What the navigator publishes: its Twists on /cmd_vel, and its plan on /plan (nav_msgs/msg/Path) for viewers. */
export class NavigatorOutputs {
  #codec: MessageCodec;
  #cmd: Publisher;
  #plan: Publisher;

  constructor(bus: Bus, codec: MessageCodec, topics: { cmdVel: string; plan: string }) {
    this.#codec = codec;
    this.#cmd = bus.advertise(topics.cmdVel, 'geometry_msgs/msg/Twist', { source: 'navigator' });
    this.#plan = bus.advertise(topics.plan, 'nav_msgs/msg/Path', {
      source: 'navigator',
      qos: { durability: 'transient_local', depth: 1 },
    });
  }

  twist(linear: number, angular: number): void {
    this.#cmd.publish(
      this.#codec.encode('geometry_msgs/msg/Twist', {
        linear: { x: linear, y: 0, z: 0 },
        angular: { x: 0, y: 0, z: angular },
      }),
    );
  }

  /** The path in the map frame, stamped with the robot time `timeS`; an empty one says no goal is active. */
  plan(path: readonly Point2D[], timeS: number): void {
    const stamp = {
      sec: Math.floor(timeS),
      nanosec: Math.round((timeS % 1) * 1e9) % 1_000_000_000,
    };
    const poses = path.map((p) => ({
      header: { stamp, frame_id: 'map' },
      pose: { position: { x: p.x, y: p.y, z: 0 }, orientation: { x: 0, y: 0, z: 0, w: 1 } },
    }));
    this.#plan.publish(this.#codec.encode('nav_msgs/msg/Path', { header: { stamp, frame_id: 'map' }, poses }));
  }

  close(): void {
    this.#cmd.close();
    this.#plan.close();
  }
}
