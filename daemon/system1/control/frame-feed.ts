import type { Bus, BusMessage, Subscription } from '../../bus/index.ts';
import { MessageCodec, type DefinitionsRegistry } from '../../bus/index.ts';
import { nowNs } from '../../util/index.ts';
import type { Frame } from '../vision/frame.ts';
import type { DecodePool } from '../vision/decode-pool.ts';
import { FrameDecoder } from '../vision/frame-decoder.ts';
import { FrameSlot } from '../vision/frame-slot.ts';
import { ImageError } from '../vision/image-error.ts';
import type { CompressedImage, FrameTarget, RawImage } from '../vision/raw-pixels.ts';
import { FrameStamps, MAX_STAMP_AHEAD_MS } from './frame-stamps.ts';
import { monotonicMs } from './loop-clock.ts';
import type { ImageSlot } from './loop-plan.ts';

/** Where a camera's decoded frames go: a frame slot in memory (a loop thread's) or a file (frame-file.ts). */
export interface FrameSink {
  write(frame: Frame, timeMs: number): void | Promise<void>;
}

export interface FrameFeedOptions {
  name: string;
  images: ImageSlot[];
  bus: Bus;
  definitions: DefinitionsRegistry;
  /** The daemon's decode processes, which every camera's frames share; without them, a process per camera. */
  decodePool?: DecodePool;
  /** A frame that cannot become the input (wrong encoding or size, no decode): counted and logged by the caller. */
  onError: (topic: string, error: Error) => void;
  /** A frame arrived on `topic` (before its decode). */
  onArrived?: (topic: string) => void;
  /** A frame became its input, `timeMs` old as the loop judges it (monotonic ms). */
  onTaken?: (topic: string, timeMs: number) => void;
}

/**
 * The main thread's side of a loop's cameras: each frame is decoded and resized to its input's size in its camera's
 * decode process (FrameDecoder: its own libuv threads, a time budget per frame), then written once into its sink: a
 * shared frame slot, which the loop's thread reads straight into its input tensor, or a loop process's frame file.
 * One decode per camera at a time: a frame that comes meanwhile waits, and a newer one replaces it, so a slow decode
 * drops frames instead of queueing them, and costs only its own camera. A frame is stamped with its age when it
 * arrived (or its header.stamp's, FrameStamps), so time spent decoding counts toward its staleness.
 */
export class FrameFeed {
  #slots: FrameSlot[] | undefined;
  #subs: Subscription[] = [];
  #decoders: FrameDecoder[] = [];
  #closed = false;

  constructor(private readonly options: FrameFeedOptions) {}

  /** The cameras' frame slots, made on first use: a loop process's frames go to its files instead. */
  get slots(): FrameSlot[] {
    this.#slots ??= this.options.images.map((image) => new FrameSlot(image.shape));
    return this.#slots;
  }

  get buffers(): SharedArrayBuffer[] {
    return this.slots.map((s) => s.buffer as SharedArrayBuffer);
  }

  /** Decodes each camera's frames into its sink (by LoopPlan.images' slot): `sinks`, or this feed's frame slots. */
  subscribe(sinks: FrameSink[] = this.slots): void {
    const { name, images, bus, definitions, decodePool, onError, onArrived, onTaken } = this.options;
    const codec = new MessageCodec(definitions);
    for (const image of images) {
      const sink = sinks[image.slot]!;
      const spec = image.image;
      const target: FrameTarget = {
        width: spec.width,
        height: spec.height,
        channels: spec.channels,
        resize: spec.settings.resize,
        maxPixels: spec.settings.max_pixels,
      };
      const decoder = new FrameDecoder({
        name: `camera ${image.topic}`,
        timeoutMs: spec.settings.decode_timeout_ms,
        pool: decodePool,
      });
      this.#decoders.push(decoder);
      const stamps =
        spec.settings.age_from === 'stamp'
          ? new FrameStamps({ maxAheadMs: spec.settings.max_stamp_ahead_ms ?? MAX_STAMP_AHEAD_MS })
          : undefined;
      let busy = false;
      let waiting: BusMessage | undefined;
      const decode = (msg: BusMessage): void => {
        busy = true;
        void (async () => {
          try {
            const message = codec.decode(msg.type, msg.data) as RawImage | CompressedImage;
            // Its age now, by the wall clock that stamped logTime (one from the future counts as 0): the time it
            // waited for this decode counts, and so will the decode's own.
            const now = nowNs();
            const arrivalAgeMs = Math.max(0, Number(now - msg.logTime) / 1e6);
            const judged = stamps?.judge(message, arrivalAgeMs, now);
            const timeMs = monotonicMs() - (judged?.ageMs ?? arrivalAgeMs);
            const frame = await decoder.decode(message, target);
            if (frame.order === 'depth16' && spec.dtype === 'uint8')
              throw new ImageError('bad_encoding', `16UC1 depth does not fit the uint8 input ${image.input}`);
            if (this.#closed) return;
            await sink.write(frame, timeMs);
            // Only now its stamp is the one to beat: a frame refused on the way never holds the camera.
            stamps?.taken(judged?.stampNs);
            onTaken?.(image.topic, timeMs);
          } catch (error) {
            if (!this.#closed) onError(image.topic, error as Error);
          } finally {
            busy = false;
            const next = waiting;
            waiting = undefined;
            if (next && !this.#closed) decode(next);
          }
        })();
      };
      this.#subs.push(
        bus.subscribe({
          name: `control:${name}`,
          topic: image.topic,
          queue: { policy: 'keep-latest' },
          handler: (msg: BusMessage) => {
            onArrived?.(image.topic);
            if (busy) waiting = msg;
            else decode(msg);
          },
        }),
      );
    }
  }

  /** Decodes, abandoned decodes and crashed decode processes, over the feed's cameras. */
  get decodeStats(): { decoded: number; abandoned: number; crashed: number } {
    const sum = { decoded: 0, abandoned: 0, crashed: 0 };
    for (const { stats } of this.#decoders) {
      sum.decoded += stats.decoded;
      sum.abandoned += stats.abandoned;
      sum.crashed += stats.crashed;
    }
    return sum;
  }

  close(): void {
    this.#closed = true;
    for (const sub of this.#subs) this.options.bus.unsubscribe(sub);
    this.#subs = [];
    // Their processes are killed: a frame still in one has no loop to go to.
    for (const decoder of this.#decoders.splice(0)) void decoder.close();
  }
}
