import type { Bus, BusMessage, DefinitionsRegistry, Subscription } from '../../bus/index.ts';
import { MessageCodec } from '../../bus/index.ts';

/**
 * Episode marks: a std_msgs/msg/String topic whose messages are `begin N` as an episode starts and `end N success` or
 * `end N failure` as it ends (a teleoperation UI's, a scripted expert's, an evaluation's). `lerobot export
 * --episodes-from` cuts a recording by them; a control loop with `episodes` resets its plan at each begin.
 */
export const isEpisodeBegin = (text: string): boolean => /^\s*begin\b/i.test(text);

/** Calls `onBegin` for each begin mark on `topic`; a message that is no String is counted in `refused`. */
export function subscribeEpisodeMarks(options: {
  bus: Bus;
  definitions: DefinitionsRegistry;
  /** The subscriber's name, e.g. `control:<loop>`. */
  name: string;
  topic: string;
  onBegin: () => void;
  onRefused: (error: Error) => void;
}): Subscription {
  const { bus, definitions, name, topic, onBegin, onRefused } = options;
  const codec = new MessageCodec(definitions);
  return bus.subscribe({
    name,
    topic,
    // A flood drops its oldest marks: one begin among the rest is as good as many.
    queue: { policy: 'drop-oldest', depth: 16 },
    handler: (msg: BusMessage) => {
      try {
        if (msg.type !== 'std_msgs/msg/String') throw new Error(`${msg.type} is no episode mark: std_msgs/msg/String`);
        const { data } = codec.decode<{ data: string }>(msg.type, msg.data);
        if (isEpisodeBegin(data)) onBegin();
      } catch (error) {
        onRefused(error as Error);
      }
    },
  });
}
