import { stringify } from 'yaml';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { SYSTEM1_COMPONENTS } from '../../daemon/components/system1.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { silentLogger } from '../../daemon/log.ts';

const ARRAY = 'std_msgs/msg/Float64MultiArray';

/**
 * A real Daemon with the System 1 components, started in `dir`: loop `l` runs policy `p` (`model`) at 50 Hz on
 * the constant observation [1, 2] and sends Float64MultiArray commands on `/cmd`. `sent` holds the data of each
 * command that reached the bus, in order; `config` is what it started with (a reload with it changes nothing
 * but what is on disk). Its stop goes into `cleanups`.
 */
export async function startLoopDaemon(dir: string, model: string, cleanups: (() => Promise<void> | void)[]) {
  const config = parseConfigText(
    stringify({
      data_dir: './data',
      policies: {
        p: {
          model,
          inputs: { obs: { sources: [{ constant: [1, 2] }] } },
          outputs: { actions: { command: { topic: '/cmd', type: ARRAY } } },
        },
      },
      control: { loops: { l: { policy: 'p', rate_hz: 50 } } },
    }),
    'edge.yaml',
    {},
  );
  const daemon = new Daemon({ config, log: silentLogger(), cwd: dir, specs: SYSTEM1_COMPONENTS });
  const codec = new MessageCodec(daemon.definitions);
  const sent: number[][] = [];
  daemon.bus.subscribe({
    name: 'test',
    topic: '/cmd',
    handler: (m) => void sent.push(Array.from(codec.decode<{ data: Float64Array }>(m.type, m.data).data)),
  });
  await daemon.start();
  cleanups.push(() => daemon.close());
  return { daemon, config, sent };
}
