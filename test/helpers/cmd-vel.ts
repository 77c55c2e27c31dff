import type { Bus } from '../../daemon/bus/bus.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';

export interface PlanarTwist {
  linear: number;
  angular: number;
}

/** Every Twist sent on /cmd_vel from now on, as (linear.x, angular.z), none dropped. */
export function recordCmdVel(bus: Bus, codec: MessageCodec, topic = '/cmd_vel'): PlanarTwist[] {
  const twists: PlanarTwist[] = [];
  bus.subscribe({
    name: 'test',
    topic,
    queue: { policy: 'drop-oldest', depth: 100_000 },
    handler: (m) => {
      const t = codec.decode<{ linear: { x: number }; angular: { z: number } }>(m.type, m.data);
      twists.push({ linear: t.linear.x, angular: t.angular.z });
    },
  });
  return twists;
}
