import { afterEach, describe, expect, it, vi } from 'vitest';
import { RobotGraph } from '../../daemon/bus/index.ts';
import { GraphDiscovery } from './graph-discovery.ts';
import { rmwZenohMapping } from './mapping.ts';

const HASH = 'RIHS01_df668c740482bbd48fb39d76a70dfd4bd59db1288021743503259e948f6b1a18';
const server = (zid: string) =>
  `@ros2_lv/0/${zid}/0/11/SS/%/%/fibonacci_server/%fib%_action%send_goal/test_msgs::action::dds_::Fibonacci_SendGoal_/${HASH}/::,10:,:,:,,`;

describe("the graph as a session's liveliness tokens say it", () => {
  afterEach(() => void vi.useRealTimers());

  const discovery = () =>
    new GraphDiscovery({
      graph: new RobotGraph(),
      mapping: rmwZenohMapping(0),
      isLocal: () => false,
      onChange: () => {},
    });

  it("keeps a token the new session's history brought before its declarations were all in", () => {
    vi.useFakeTimers();
    const d = discovery();
    d.newSession();
    d.token(server('aa'), true);
    d.settle(2000);
    // The link dropped and opened again; the subscriber's history says the server again before the link is up.
    d.newSession();
    d.token(server('aa'), true);
    d.settle(2000);
    vi.advanceTimersByTime(2500);
    expect([...d.servers().keys()]).toEqual(['/fib/_action/send_goal']);
  });

  it('drops a token the new session did not announce within the settle time', () => {
    vi.useFakeTimers();
    const d = discovery();
    d.newSession();
    d.token(server('aa'), true);
    d.settle(2000);
    d.newSession();
    d.settle(2000);
    vi.advanceTimersByTime(1000);
    expect(d.servers().size).toBe(1);
    vi.advanceTimersByTime(1500);
    expect(d.servers().size).toBe(0);
  });
});
