// Frames whose size is the attack: a raw Image one pixel wide and 16,777,216 rows tall (67 MB, inside max_pixels), a
// JPEG whose header says 8000 x 8000, and a 640 x 480 JPEG that carries 53 MB. Each is judged from its header where it
// arrives, before a byte of it is copied, and what is left to do is done in its camera's decode process: a good camera
// on another loop stays fresh throughout.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { noiseJpeg } from '../helpers/hostile-frames.ts';
import { waitFor } from '../helpers/wait.ts';
import { allFresh, COMPRESSED, codec, goodFrame, IMAGE, startCameraDaemon } from './camera-daemon.ts';

const tmp = tempDir('big-frames-');
afterAll(() => tmp.cleanup());
const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const every = (ms: number, send: () => void) => {
  const timer = setInterval(send, ms);
  cleanups.push(() => clearInterval(timer));
};

/** A 40 x 30 JPEG whose frame header says `width` x `height`, with `padding` bytes more in its scan. */
async function jpegClaiming(width: number, height: number, padding: number): Promise<Uint8Array> {
  const jpeg = Buffer.from(await noiseJpeg());
  const sof = jpeg.indexOf(Buffer.from([0xff, 0xc0]));
  jpeg.writeUInt16BE(height, sof + 5);
  jpeg.writeUInt16BE(width, sof + 7);
  return Buffer.concat([jpeg.subarray(0, jpeg.length - 2), Buffer.alloc(padding), jpeg.subarray(jpeg.length - 2)]);
}

describe('big frames on a camera', () => {
  it('are judged from their header before they are copied, and cost only their own cameras', async () => {
    const { fresh, stats, camera, stop } = await startCameraDaemon({
      dir: tmp.path,
      loops: { tall: {}, big: {}, good: {} },
    });
    cleanups.push(stop);
    const good = camera('good');
    every(33, () => good.publish(goodFrame));
    await waitFor(() => allFresh(fresh.good!, 10), 'the good camera fresh');

    const height = 16_777_216;
    const tall = codec.encode(IMAGE, {
      height,
      width: 1,
      encoding: 'rgb8',
      is_bigendian: 0,
      step: 4, // rows padded: packing them is a copy per row
      data: new Uint8Array(4 * height),
    });
    const big = [
      codec.encode(COMPRESSED, { format: 'jpeg', data: await jpegClaiming(8000, 8000, 53 << 20) }),
      codec.encode(COMPRESSED, { format: 'jpeg', data: await jpegClaiming(640, 480, 53 << 20) }),
    ];
    const tallCamera = camera('tall');
    const bigCamera = camera('big', COMPRESSED);
    let sent = 0;
    every(250, () => tallCamera.publish(tall));
    every(100, () => bigCamera.publish(big[sent++ % 2]!));
    await waitFor(
      () => stats('tall').observations[0]!.received >= 3 && stats('big').observationErrors >= 4,
      'the big frames arrived',
    );
    const during = fresh.good!.length;
    await waitFor(() => fresh.good!.length >= during + 50, 'the good loop ticking on');
    expect(fresh.good!.slice(during).every(Boolean)).toBe(true);
    // Refused from their headers, never abandoned after a transfer.
    expect(stats('big').decodesAbandoned).toBe(0);
    expect(stats('big').observations[0]!.last_refusal).toMatch(/over max_pixels|more than such a frame takes/);
  });
});
