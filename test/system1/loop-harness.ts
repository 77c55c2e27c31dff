import pino from 'pino';
import { Value } from 'typebox/value';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LoopConfig, type LoopSettings } from '../../daemon/config/sections/system1.ts';
import { ControlLoop, type ControlLoopOptions } from '../../daemon/system1/control/control-loop.ts';
import { policySettings } from './models.ts';

const ARRAY = 'std_msgs/msg/Float64MultiArray';
const definitions = new DefinitionsRegistry();
const codec = new MessageCodec(definitions);

/** Policy inputs that read no topic: input `obs` is the constant [1, -1], so no observation can go stale. */
export const CONSTANT_OBS = { obs: { sources: [{ constant: [1, -1] }] } };

/**
 * A real ControlLoop on its own bus: policy `p` reads `/obs` (Float64MultiArray data) into input `obs` and sends
 * Float64MultiArray commands on `/cmd` (`inputs` replaces that mapping; `remote` makes it a remote policy). `commands`
 * holds what the loop sent, in order; `published` the data of each command that reached the bus on `/cmd`, in order.
 */
export function loopHarness(
  model: string,
  loop: Partial<LoopSettings>,
  options: Partial<ControlLoopOptions> & {
    inputs?: Record<string, unknown>;
    /** A remote policy's settings (policies.<name>.remote), in place of `model`, and its action chunk's shape. */
    remote?: { settings: Record<string, unknown>; chunk: [number, number] };
    /** More of the command's settings (a clip). */
    command?: Record<string, unknown>;
  } = {},
) {
  const {
    inputs = { obs: { sources: [{ topic: '/obs', field: 'data' }] } },
    remote,
    command: more,
    ...loopOptions
  } = options;
  const bus = new Bus();
  const command = { topic: '/cmd', type: ARRAY, ...more };
  const policy = policySettings({
    ...(remote ? { remote: remote.settings } : { model }),
    inputs,
    outputs: { actions: remote ? { command, shape: remote.chunk } : { command } },
  });
  const commands: { values: number[]; safe: boolean }[] = [];
  const published: number[][] = [];
  bus.subscribe({
    name: 'test',
    topic: '/cmd',
    handler: (m) => void published.push(Array.from(codec.decode<{ data: Float64Array }>(m.type, m.data).data)),
  });
  const control = new ControlLoop({
    name: 'test',
    loop: Value.Default(LoopConfig, { policy: 'p', ...loop }) as LoopSettings,
    policyName: 'p',
    policy,
    bus,
    definitions,
    log: pino({ level: 'silent' }),
    onCommand: (values, safe) => void commands.push({ values: Array.from(values), safe }),
    ...loopOptions,
  });
  const obs = bus.advertise('/obs', ARRAY, { source: 'test' });
  const send = (data: number[]) =>
    obs.publish(codec.encode(ARRAY, { layout: { dim: [], data_offset: 0 }, data: Float64Array.from(data) }));
  /** Publishes `data` every 10 ms until the returned function is called. */
  const publishing = (data: number[]): (() => void) => {
    const timer = setInterval(() => send(data), 10);
    return () => clearInterval(timer);
  };
  return { bus, control, commands, published, send, publishing };
}
