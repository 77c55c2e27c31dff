import { readFile } from 'node:fs/promises';
import { alive } from '../../lifecycle/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../../../test/helpers/wait.ts';
import { costlyPng, hostileFrames, noiseJpeg } from '../../../test/helpers/hostile-frames.ts';
import { FrameDecoder } from './frame-decoder.ts';
import { ImageError } from './image-error.ts';
import type { FrameTarget } from './raw-pixels.ts';

const target: FrameTarget = { width: 20, height: 15, channels: 3, resize: 'fill', maxPixels: 20_000_000 };
const decoders: FrameDecoder[] = [];
const decoder = (timeoutMs = 10_000) => {
  const d = new FrameDecoder({ name: 'camera /c', timeoutMs });
  decoders.push(d);
  return d;
};
afterEach(async () => {
  await Promise.all(decoders.splice(0).map((d) => d.close()));
});

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'decoded',
    (e: unknown) => (e instanceof ImageError ? e.code : `not an ImageError: ${String(e)}`),
  );

describe('a camera frame decoder', () => {
  it('decodes in a process of its own, and refuses every hostile frame with its code', async () => {
    const d = decoder();
    const frame = await d.decode({ format: 'jpeg', data: await noiseJpeg() }, target);
    expect([frame.width, frame.height, frame.channels, frame.data.length]).toEqual([20, 15, 3, 20 * 15 * 3]);
    expect(d.pid).toBeDefined();
    expect(d.pid).not.toBe(process.pid);
    for (const hostile of await hostileFrames())
      expect([hostile.name, await codeOf(d.decode(hostile, target))]).toEqual([hostile.name, hostile.code]);
    expect(d.stats).toEqual({ decoded: 1, abandoned: 0, crashed: 0 });
  });

  it('abandons a decode past its budget: its process is killed, the frame refused and counted, the next decoded', async () => {
    const d = decoder(5);
    const good = { format: 'jpeg', data: await noiseJpeg() };
    const png = { format: 'png', data: await costlyPng() };
    // A first frame warms the process (it may itself run past 5 ms); a budget counts from a ready process.
    await codeOf(d.decode(good, target));
    const before = d.stats.abandoned;
    const refused = await d.decode(png, target).catch((e: unknown) => e);
    // The process that took the frame: read after it, since a warm-up slow enough to mark the camera costly sends the
    // next frame to the other (low) process, which starts only then.
    const pid = d.pid!;
    expect(refused).toBeInstanceOf(ImageError);
    expect((refused as ImageError).code).toBe('over_budget');
    expect((refused as ImageError).message).toMatch(
      /camera \/c: a \d+-byte compressed frame took longer than decode_timeout_ms \(5 ms\) to decode; abandoned/,
    );
    expect(d.stats.abandoned).toBe(before + 1);
    await waitFor(() => !alive(pid), 'the abandoned decode process to be gone');
    const next = new FrameDecoder({ name: 'camera /c', timeoutMs: 10_000 });
    decoders.push(next);
    expect((await next.decode(good, target)).width).toBe(20);
  });

  it('refuses the frame in a decode process that dies, and decodes the next in a new one', async () => {
    const d = decoder();
    const good = { format: 'jpeg', data: await noiseJpeg() };
    await d.decode(good, target);
    const pid = d.pid!;
    const decoding = codeOf(d.decode({ format: 'png', data: await costlyPng() }, target));
    process.kill(pid, 'SIGSEGV'); // as a loader's crash would end it
    expect(await decoding).toBe('decode_failed');
    expect(d.stats.crashed).toBe(1);
    expect((await d.decode(good, target)).width).toBe(20);
    expect(d.pid).not.toBe(pid);
  });

  it("leaves the caller's libuv threads free: a file read answers while four cameras decode", async () => {
    const cameras = [decoder(60_000), decoder(60_000), decoder(60_000), decoder(60_000)];
    const good = { format: 'jpeg', data: await noiseJpeg() };
    await Promise.all(cameras.map((c) => c.decode(good, target)));
    const png = { format: 'png', data: await costlyPng() };
    let settled = 0;
    const decoding = cameras.map((c) => c.decode(png, target).finally(() => settled++));
    // The decode processes are held mid-decode, so however fast or loaded the machine, no decode ends before the
    // read: a decode on the caller's own libuv threads (as it was) would not be held, and would hold the read.
    const pids = cameras.map((c) => c.pid!);
    for (const pid of pids) process.kill(pid, 'SIGSTOP');
    try {
      await readFile(new URL(import.meta.url));
      expect(settled).toBe(0);
    } finally {
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
    await Promise.all(decoding);
    expect(settled).toBe(4);
  });

  it('refuses the frames still waiting when it closes', async () => {
    const d = decoder();
    const png = { format: 'png', data: await costlyPng() };
    const first = codeOf(d.decode(png, target));
    const second = d.decode(png, target).catch((e: unknown) => String(e));
    await d.close();
    expect(await first).toMatch(/not an ImageError: Error: camera \/c: the frame decoder closed/);
    expect(await second).toMatch(/closed before this frame was decoded/);
  });
});
