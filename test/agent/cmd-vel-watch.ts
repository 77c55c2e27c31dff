import type { Bus } from '../../daemon/bus/bus.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';

export type Twist = { linear: { x: number; y: number; z: number }; angular: { x: number; y: number; z: number } };

export const isZero = (t: Twist) =>
  [t.linear.x, t.linear.y, t.linear.z, t.angular.x, t.angular.y, t.angular.z].every((v) => v === 0);

/** Every Twist on /cmd_vel from now on, decoded, in the order the bus delivered them. */
export function watchCmdVel(bus: Bus, codec: MessageCodec): Twist[] {
  const seen: Twist[] = [];
  bus.subscribe({
    name: `test-cmd-vel-${Math.random().toString(36).slice(2, 8)}`,
    topic: '/cmd_vel',
    queue: { policy: 'drop-oldest', depth: 10_000 },
    handler: (m) => void seen.push(codec.decode<Twist>(m.type, m.data)),
  });
  return seen;
}
