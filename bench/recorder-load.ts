import { join } from 'node:path';
import pino from 'pino';
import { Value } from 'typebox/value';
import { MessageCodec, type Bus, type DefinitionsRegistry } from '../daemon/bus/index.ts';
import { RecorderConfig } from '../daemon/config/index.ts';
import { Recorder, type RecorderSettings } from '../daemon/recorder/index.ts';

/** The recorder writing beside a loop: what it wrote and dropped once stopped. */
export interface RecorderLoad {
  close(): Promise<{ written: number; drops: number }>;
}

export interface RecorderLoadOptions {
  bus: Bus;
  definitions: DefinitionsRegistry;
  /** The bags go under DIR/bags. */
  dir: string;
  bytesPerSecond?: number;
  messageBytes?: number;
}

/**
 * The recording load of the loop benches: the recorder records /load alone (uncompressed, into an MCAP bag on this
 * machine's disk) while sensor_msgs/Image messages of `messageBytes` are published there at `bytesPerSecond`, in
 * bursts every 10 ms from the main thread, as a camera driver's messages reach the bus.
 */
export async function startRecorderLoad(options: RecorderLoadOptions): Promise<RecorderLoad> {
  const { bus, definitions, dir, bytesPerSecond = 10_000_000, messageBytes = 100_000 } = options;
  const settings = Value.Default(RecorderConfig, {
    enabled: true,
    include: ['/load'],
    compression: 'none',
    min_free_bytes: 0,
  }) as RecorderSettings;
  const recorder = new Recorder({
    bus,
    definitions,
    log: pino({ level: 'silent' }),
    bagsDir: join(dir, 'bags'),
    settings,
  });
  await recorder.start();
  const image = new MessageCodec(definitions).encode('sensor_msgs/msg/Image', {
    header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' },
    height: messageBytes / 1000,
    width: 1000,
    encoding: 'mono8',
    is_bigendian: 0,
    step: 1000,
    data: new Uint8Array(messageBytes),
  });
  const load = bus.advertise('/load', 'sensor_msgs/msg/Image', { source: 'bench' });
  const perTick = bytesPerSecond / messageBytes / 100; // messages per 10 ms
  let written = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perTick; i++) {
      load.publish(image);
      written += image.byteLength;
    }
  }, 10);
  return {
    async close() {
      clearInterval(timer);
      await recorder.close();
      load.close();
      const drops = bus
        .subscriptions()
        .filter((s) => s.name === 'recorder')
        .reduce((n, s) => n + s.counters.dropped, 0);
      return { written, drops };
    },
  };
}
