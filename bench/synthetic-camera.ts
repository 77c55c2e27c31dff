import { MessageCodec, type Bus, type DefinitionsRegistry } from '../daemon/bus/index.ts';

export const IMAGE = 'sensor_msgs/msg/Image';

/**
 * An rgb8 frame with something in it for a resizer or an encoder to work on: smooth gradients that move with
 * `seed` (a scene), under a few levels of per-pixel noise (a sensor's). Rows packed: step = 3 x width.
 */
export function syntheticFrame(width: number, height: number, seed = 0): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  let noise = 0x9e3779b9 ^ seed;
  for (let y = 0, p = 0; y < height; y++)
    for (let x = 0; x < width; x++, p += 3) {
      noise = (noise * 1664525 + 1013904223) >>> 0;
      const n = (noise >>> 29) - 4;
      data[p] = clampByte(((x + 3 * seed) * 255) / width + n);
      data[p + 1] = clampByte(((y + 2 * seed) * 255) / height + n);
      data[p + 2] = clampByte(128 + 100 * Math.sin((x + y + 5 * seed) / 40) + n);
    }
  return data;
}

const clampByte = (v: number): number => (v < 0 ? 0 : v > 255 ? 255 : v);

/** A sensor_msgs/msg/Image (rgb8) of `data`, as CDR bytes on the bus. */
export function imageMessage(codec: MessageCodec, width: number, height: number, data: Uint8Array): Uint8Array {
  return codec.encode(IMAGE, {
    header: { stamp: { sec: 0, nanosec: 0 }, frame_id: 'camera' },
    height,
    width,
    encoding: 'rgb8',
    is_bigendian: 0,
    step: width * 3,
    data,
  });
}

export interface CameraOptions {
  bus: Bus;
  definitions: DefinitionsRegistry;
  topic: string;
  width: number;
  height: number;
  rateHz: number;
}

/**
 * A camera driver on the bus: rgb8 frames of width x height on `topic` at `rateHz`, from the main thread. Each
 * message is a fresh buffer, as a driver's or an adapter's is (a few scenes taken in turn, copied), so what a
 * frame costs to allocate and to collect counts. Returns how many were published so far and a stop.
 */
export function startCamera(options: CameraOptions): { published(): number; close(): void } {
  const { bus, definitions, topic, width, height, rateHz } = options;
  const codec = new MessageCodec(definitions);
  const scenes = [0, 1, 2, 3].map((seed) => imageMessage(codec, width, height, syntheticFrame(width, height, seed)));
  const camera = bus.advertise(topic, IMAGE, { source: 'bench' });
  let published = 0;
  const timer = setInterval(() => camera.publish(scenes[published++ % scenes.length]!.slice()), 1000 / rateHz);
  return {
    published: () => published,
    close() {
      clearInterval(timer);
      camera.close();
    },
  };
}
