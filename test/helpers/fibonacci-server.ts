import { pino } from 'pino';
import { BusActionServer } from '../../daemon/actions/index.ts';
import type { Bus, MessageCodec } from '../../daemon/bus/index.ts';

/**
 * A Fibonacci action served on the bus, as test_msgs' and action_tutorials' servers behave: one number per
 * `stepMs` as feedback, a negative order rejected, a cancel ending the goal canceled with what it had. The ids of
 * the goals it saw cancelled go to `cancelled`.
 */
export function fibonacciServer(options: {
  bus: Bus;
  codec: MessageCodec;
  name: string;
  type: string;
  stepMs: number;
}): { server: BusActionServer; cancelled: string[] } {
  const { bus, codec, name, type, stepMs } = options;
  const cancelled: string[] = [];
  const server = new BusActionServer({
    bus,
    codec,
    log: pino({ level: 'silent' }),
    name,
    type,
    handler: {
      accept: (goal) => ((goal.order as number) >= 0 ? true : 'a negative order'),
      execute: async (goal, { feedback, signal, goalId }) => {
        const sequence: number[] = [];
        for (let i = 0; i < (goal.order as number); i++) {
          // A goal that takes time to run is what feedback and cancels are tested against.
          // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
          await new Promise((r) => setTimeout(r, stepMs));
          if (signal.aborted) {
            cancelled.push(goalId);
            return { state: 'canceled', result: { sequence } };
          }
          sequence.push(i < 2 ? i : sequence[i - 1]! + sequence[i - 2]!);
          feedback({ sequence: [...sequence] });
        }
        return { state: 'succeeded', result: { sequence } };
      },
    },
  });
  return { server, cancelled };
}
