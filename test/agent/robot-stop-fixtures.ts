import type { NavigationService } from '../../daemon/agent/services.ts';
import type { Bus } from '../../daemon/bus/bus.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import { errorText } from '../../daemon/util/index.ts';

export { isZero, watchCmdVel, type Twist } from './cmd-vel-watch.ts';

/**
 * A navigator that drives (a Twist on /cmd_vel every 5 ms) until it is stopped; `goals` counts its goals, `driving`
 * the goals it is driving now (their timers are live).
 */
export function drivingNavigator(
  bus: Bus,
  codec: MessageCodec,
): NavigationService & { goals: number; driving: number } {
  const nav = {
    goals: 0,
    driving: 0,
    navigateTo: (_goal: { x: number; y: number }, { signal }: { signal?: AbortSignal }) =>
      new Promise<{ reached: boolean; outcome: string; message: string }>((resolve) => {
        nav.goals++;
        nav.driving++;
        const pub = bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'test-nav' });
        const timer = setInterval(
          () => pub.publish(codec.encode('geometry_msgs/msg/Twist', { linear: { x: 0.2 }, angular: { z: 0.1 } })),
          5,
        );
        const stop = () => {
          clearInterval(timer);
          nav.driving--;
          pub.close();
          resolve({ reached: false, outcome: 'cancelled', message: String(errorText(signal!.reason)) });
        };
        if (signal!.aborted) stop();
        else signal!.addEventListener('abort', stop, { once: true });
      }),
  };
  return nav;
}
