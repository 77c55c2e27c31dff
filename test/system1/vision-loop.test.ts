// A control loop fed by a camera: frames decoded and resized off the event loop into a shared frame slot, read by
// the loop's thread into the model's image input. The model (vision-models.ts) answers each channel's mean, so the
// commands say what the model saw: channel order, scale, normalization, resize.
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { loopHarness } from './loop-harness.ts';
import { writeChannelMeanModel, writeTwoCameraModel } from './vision-models.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

const tmp = tempDir('vision-loop-');
afterAll(() => tmp.cleanup());
const codec = new MessageCodec(new DefinitionsRegistry());

const IMAGE = 'sensor_msgs/msg/Image';
const COMPRESSED = 'sensor_msgs/msg/CompressedImage';

function rawFrame(width: number, height: number, encoding: string, px: number[]): Uint8Array {
  const data = new Uint8Array(width * height * px.length);
  for (let i = 0; i < data.length; i++) data[i] = px[i % px.length]!;
  return codec.encode(IMAGE, { height, width, encoding, is_bigendian: 0, step: width * px.length, data });
}

/** Once the last good frame is stale, only the safe action goes out while bad frames keep coming. */
async function heldSafe(commands: { safe: boolean }[], from: number): Promise<void> {
  await waitFor(
    () => commands.length > from + 3 && commands.slice(-3).every((c) => c.safe),
    'the safe action once the last good frame is stale',
  );
  const at = commands.length;
  await waitFor(() => commands.length >= at + 10, 'ten more ticks');
  expect(commands.slice(at).every((c) => c.safe)).toBe(true);
}

const close = (a: number[], b: number[], tolerance = 1e-3) =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

describe('a control loop with a camera input', () => {
  it('feeds rgb8, bgr8 and mono8 frames of another size as RGB in [0, 1], channels first, and is stale without frames', async () => {
    const model = writeChannelMeanModel(tmp.path, 'mean-nchw', { height: 12, width: 16, output: 'actions' });
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 400, safe_action: [-1, -1] },
      { inputs: { 'observation.images.front': { image: { topic: '/camera/image_raw' } } } },
    );
    await control.start();
    try {
      await waitFor(() => commands.some((c) => c.safe), 'the safe action before any frame');
      const camera = bus.advertise('/camera/image_raw', IMAGE, { source: 'test' });
      const sendUntil = async (data: Uint8Array, want: number[], what: string) => {
        const timer = setInterval(() => camera.publish(data), 20);
        try {
          await waitFor(() => commands.some((c) => !c.safe && close(c.values, want, 0.02)), what);
        } finally {
          clearInterval(timer);
        }
      };
      await sendUntil(rawFrame(64, 48, 'rgb8', [255, 0, 51]), [1, 0.2], 'rgb8 [255, 0, 51] as [1, 0.2]');
      await sendUntil(rawFrame(32, 24, 'bgr8', [51, 0, 255]), [1, 0.2], 'bgr8 swapped to RGB');
      await sendUntil(rawFrame(16, 12, 'mono8', [102]), [0.4, 0.4], 'mono8 as grey in all three channels');
      // The camera stops: the frame goes stale and the loop sends its safe action again.
      const before = commands.length;
      await waitFor(
        () => commands.slice(before).filter((c) => c.safe).length > 3,
        'the safe action once the frame is older than 400 ms',
      );
      expect(control.stats().staleTicks).toBeGreaterThan(0);
      camera.close();
    } finally {
      await control.close();
      bus.close();
    }
  });

  it('decodes CompressedImage JPEG; bad frames (a format not taken, a truncated JPEG, 50 megapixels, bytes that are no PNG) are counted and hold the safe action', async () => {
    const model = writeChannelMeanModel(tmp.path, 'mean-jpeg', { height: 12, width: 16, output: 'actions' });
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 300, safe_action: [-1, -1] },
      { inputs: { 'observation.images.front': { image: { topic: '/camera/compressed', max_pixels: 4_000_000 } } } },
    );
    await control.start();
    try {
      const jpeg = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 0, g: 0, b: 255 } } })
        .jpeg({ quality: 95 })
        .toBuffer();
      const camera = bus.advertise('/camera/compressed', COMPRESSED, { source: 'test' });
      const send = (format: string, data: Uint8Array) => camera.publish(codec.encode(COMPRESSED, { format, data }));
      let timer = setInterval(() => send('jpeg', jpeg), 20);
      await waitFor(() => commands.some((c) => !c.safe && close(c.values, [0, 1], 0.03)), 'a JPEG frame');
      clearInterval(timer);

      const huge = await sharp({ create: { width: 8660, height: 5774, channels: 3, background: '#fff' } })
        .jpeg()
        .toBuffer();
      const bad: [string, Uint8Array][] = [
        ['tiff', jpeg],
        ['jpeg', jpeg.subarray(0, jpeg.length >> 1)],
        ['jpeg', huge],
        ['png', Uint8Array.from([137, 80, 78, 71])],
      ];
      const errorsBefore = control.stats().observationErrors;
      let i = 0;
      timer = setInterval(() => {
        const [format, data] = bad[i++ % bad.length]!;
        send(format, data);
      }, 20);
      try {
        const from = commands.length;
        await waitFor(() => control.stats().observationErrors >= errorsBefore + 8, 'each bad frame counted');
        await heldSafe(commands, from);
        expect(control.stats().alive).toBe(true);
      } finally {
        clearInterval(timer);
      }
      // A good frame again: the loop drives again.
      timer = setInterval(() => send('jpeg', jpeg), 20);
      const from = commands.length;
      await waitFor(() => commands.slice(from).some((c) => !c.safe), 'the policy again after a good frame');
      clearInterval(timer);
    } finally {
      await control.close();
      bus.close();
    }
  });

  it('normalizes per channel from stats.json (channels first) and feeds a uint8 channels-last input as it is', async () => {
    const stats = join(tmp.path, 'stats.json');
    // LeRobot's layout: an image's statistics per channel, shaped [3, 1, 1].
    writeFileSync(
      stats,
      JSON.stringify({
        'observation.images.front': { mean: [[[0.5]], [[0.5]], [[0.25]]], std: [[[0.25]], [[1]], [[0.5]]] },
      }),
    );
    const model = writeChannelMeanModel(tmp.path, 'mean-stats', { height: 6, width: 8, output: 'actions' });
    const normalized = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 400, safe_action: [-9, -9] },
      {
        inputs: {
          'observation.images.front': {
            image: { topic: '/cam' },
            normalize: { mode: 'mean_std', stats, feature: 'observation.images.front' },
          },
        },
      },
    );
    const uint8 = writeChannelMeanModel(tmp.path, 'mean-uint8', {
      height: 6,
      width: 8,
      layout: 'nhwc',
      dtype: 'uint8',
      output: 'actions',
    });
    const raw = loopHarness(
      uint8,
      { rate_hz: 100, max_observation_age_ms: 400, safe_action: [-9, -9] },
      {
        inputs: { 'observation.images.front': { image: { topic: '/cam' } } },
      },
    );
    for (const h of [normalized, raw]) await h.control.start();
    try {
      const frame = rawFrame(8, 6, 'rgb8', [255, 0, 51]);
      const cams = [normalized, raw].map((h) => h.bus.advertise('/cam', IMAGE, { source: 'test' }));
      const timer = setInterval(() => cams.forEach((c) => c.publish(frame)), 20);
      try {
        // (1 - 0.5) / 0.25 = 2; (0.2 - 0.25) / 0.5 = -0.1
        await waitFor(() => normalized.commands.some((c) => !c.safe && close(c.values, [2, -0.1])), 'normalized means');
        await waitFor(() => raw.commands.some((c) => !c.safe && close(c.values, [255, 51])), 'uint8 means');
      } finally {
        clearInterval(timer);
      }
    } finally {
      for (const h of [normalized, raw]) {
        await h.control.close();
        h.bus.close();
      }
    }
  });

  it('takes two cameras, one raw and one JPEG; raw frames with a wrong encoding or a size that does not match their step are counted and hold the safe action', async () => {
    const model = writeTwoCameraModel(tmp.path, 12, 16);
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 300, safe_action: [-1, -1] },
      {
        inputs: {
          'observation.images.front': { image: { topic: '/front/image_raw' } },
          'observation.images.wrist': { image: { topic: '/wrist/image_raw/compressed' } },
        },
      },
    );
    await control.start();
    try {
      const front = bus.advertise('/front/image_raw', IMAGE, { source: 'test' });
      const wrist = bus.advertise('/wrist/image_raw/compressed', COMPRESSED, { source: 'test' });
      const blue = await sharp({ create: { width: 40, height: 30, channels: 3, background: { r: 0, g: 0, b: 255 } } })
        .png()
        .toBuffer();
      const wristMsg = codec.encode(COMPRESSED, { format: 'png', data: blue });
      let frontMsg = rawFrame(32, 24, 'rgb8', [102, 0, 0]);
      const timer = setInterval(() => {
        front.publish(frontMsg);
        wrist.publish(wristMsg);
      }, 20);
      try {
        await waitFor(() => commands.some((c) => !c.safe && close(c.values, [0.4, 1], 0.02)), 'both cameras seen');
        const errors = control.stats().observationErrors;
        const bad = [
          rawFrame(32, 24, 'yuv422', [1, 2]),
          codec.encode(IMAGE, { height: 24, width: 32, encoding: 'rgb8', step: 96, data: new Uint8Array(95 * 24) }),
        ];
        let i = 0;
        const from = commands.length;
        frontMsg = bad[0]!;
        const swap = setInterval(() => (frontMsg = bad[i++ % 2]!), 20);
        try {
          await waitFor(() => control.stats().observationErrors >= errors + 6, 'each bad raw frame counted');
          await heldSafe(commands, from);
          expect(control.stats().alive).toBe(true);
        } finally {
          clearInterval(swap);
        }
      } finally {
        clearInterval(timer);
      }
    } finally {
      await control.close();
      bus.close();
    }
  });
});
