import type { Bus, BusMessage, Subscription } from '../../../daemon/bus/index.ts';
import { MessageCodec, type DefinitionsRegistry } from '../../../daemon/bus/index.ts';
import { nowNs } from '../../../daemon/util/index.ts';
import { decodeFrame, ImageError, type FrameTarget } from '../vision/image-decode.ts';
import { FrameSlot } from '../vision/frame-slot.ts';
import { monotonicMs } from './loop-clock.ts';
import type { ImageSlot } from './loop-plan.ts';

export interface FrameFeedOptions {
  name: string;
  images: ImageSlot[];
  bus: Bus;
  definitions: DefinitionsRegistry;
  /** A frame that cannot become the input (wrong encoding or size, no decode): counted and logged by the caller. */
  onError: (topic: string, error: Error) => void;
}

/**
 * The main thread's side of a loop's cameras: each frame is decoded and resized to its input's size on
 * libuv's threads (sharp), then written once into its shared frame slot, which the loop's thread reads
 * straight into its input tensor. One decode per camera at a time: a frame that comes meanwhile waits, and
 * a newer one replaces it, so a slow decode drops frames instead of queueing them. A frame is stamped with
 * its age when it arrived, so time spent decoding counts toward its staleness.
 */
export class FrameFeed {
  readonly slots: FrameSlot[];
  #subs: Subscription[] = [];
  #closed = false;

  constructor(private readonly options: FrameFeedOptions) {
    this.slots = options.images.map((image) => new FrameSlot(image.shape));
  }

  get buffers(): SharedArrayBuffer[] {
    return this.slots.map((s) => s.buffer);
  }

  subscribe(): void {
    const { name, images, bus, definitions, onError } = this.options;
    const codec = new MessageCodec(definitions);
    for (const image of images) {
      const slot = this.slots[image.slot]!;
      const spec = image.image;
      const target: FrameTarget = {
        width: spec.width,
        height: spec.height,
        channels: spec.channels,
        resize: spec.settings.resize,
        maxPixels: spec.settings.max_pixels,
      };
      let busy = false;
      let waiting: { msg: BusMessage; timeMs: number } | undefined;
      const decode = (msg: BusMessage, timeMs: number): void => {
        busy = true;
        void (async () => {
          try {
            const frame = await decodeFrame(codec.decode(msg.type, msg.data), target);
            if (frame.order === 'depth16' && spec.dtype === 'uint8')
              throw new ImageError('bad_encoding', `16UC1 depth does not fit the uint8 input ${image.input}`);
            if (!this.#closed) slot.write(frame, timeMs);
          } catch (error) {
            if (!this.#closed) onError(image.topic, error as Error);
          } finally {
            busy = false;
            const next = waiting;
            waiting = undefined;
            if (next && !this.#closed) decode(next.msg, next.timeMs);
          }
        })();
      };
      this.#subs.push(
        bus.subscribe({
          name: `control:${name}`,
          topic: image.topic,
          queue: { policy: 'keep-latest' },
          handler: (msg: BusMessage) => {
            const timeMs = monotonicMs() - Math.max(0, Number(nowNs() - msg.logTime) / 1e6);
            if (busy) waiting = { msg, timeMs };
            else decode(msg, timeMs);
          },
        }),
      );
    }
  }

  close(): void {
    this.#closed = true;
    for (const sub of this.#subs) this.options.bus.unsubscribe(sub);
    this.#subs = [];
  }
}
