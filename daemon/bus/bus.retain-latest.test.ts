import { describe, expect, it } from 'vitest';
import { Bus } from './bus.ts';

describe('Bus.retainLatest', () => {
  it("keeps a topic's last message, asked for before the topic appears, without being a subscriber", () => {
    const bus = new Bus();
    const last = bus.retainLatest('/odom');
    expect(last()).toBeUndefined();
    const pub = bus.advertise('/odom', 'nav_msgs/msg/Odometry', { source: 'test' });
    for (let i = 1; i <= 3; i++) pub.publish(Uint8Array.of(0, 1, 0, 0, i));
    expect(last()?.data).toEqual(Uint8Array.of(0, 1, 0, 0, 3));
    const [odom] = bus.stats();
    expect(odom).toMatchObject({ topic: '/odom', subscribers: 0, drops: 0, count: 3 });
  });
});
