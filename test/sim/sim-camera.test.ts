import { describe, expect, it } from 'vitest';
import type { Daemon } from '../../daemon/daemon.ts';
import type { MessageCodec } from '../../daemon/bus/codec.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Navigator } from '../../daemon/navigation/navigator.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startSimDaemon } from '../helpers/daemon.ts';

/**
 * The sim's camera as a vision node sees it: sensor_msgs Image and CameraInfo on the topics a ROS 2 camera driver
 * uses, at the configured rate of sim time, in an optical frame that TF knows, with a K that matches the picture.
 */

const cleanups = cleanupStack();

type Stamp = { sec: number; nanosec: number };
type Header = { stamp: Stamp; frame_id: string };
type Image = {
  header: Header;
  height: number;
  width: number;
  encoding: string;
  is_bigendian: number;
  step: number;
  data: Uint8Array;
};
type CameraInfo = {
  header: Header;
  height: number;
  width: number;
  distortion_model: string;
  d: Float64Array;
  k: Float64Array;
  r: Float64Array;
  p: Float64Array;
};
type Quat = { x: number; y: number; z: number; w: number };
type Tf = { header: Header; child_frame_id: string; transform: { rotation: Quat } };

const seconds = (s: Stamp) => s.sec + s.nanosec / 1e9;

/** Everything the sim publishes on the camera's topics and /tf_static while `run` runs, decoded. */
async function watch(daemon: Daemon, codec: MessageCodec, run: () => Promise<void>) {
  const images: Image[] = [];
  const infos: CameraInfo[] = [];
  const statics: Tf[] = [];
  const take = (topic: string, into: unknown[]) =>
    daemon.bus.subscribe({
      name: 'vision',
      topic,
      queue: { policy: 'drop-newest', depth: 100_000 },
      handler: (m) => void into.push(codec.decode(m.type, m.data)),
    });
  take('/camera/image_raw', images);
  take('/camera/camera_info', infos);
  daemon.bus.subscribe({
    name: 'tf',
    topic: '/tf_static',
    handler: (m) => void statics.push(...codec.decode<{ transforms: Tf[] }>(m.type, m.data).transforms),
  });
  await run();
  return { images, infos, statics };
}

/** v rotated by q. */
function rotate(q: Quat, [x, y, z]: [number, number, number]): number[] {
  const { x: qx, y: qy, z: qz, w } = q;
  const [tx, ty, tz] = [2 * (qy * z - qz * y), 2 * (qz * x - qx * z), 2 * (qx * y - qy * x)];
  return [x + w * tx + (qy * tz - qz * ty), y + w * ty + (qz * tx - qx * tz), z + w * tz + (qx * ty - qy * tx)];
}

const isDock = (px: Uint8Array, i: number) => px[i + 1]! > px[i]! + 60 && px[i + 1]! > px[i + 2]! + 60;
const isSky = (px: Uint8Array, i: number) => px[i + 2]! > px[i]! + 40;
const pixels = (image: Image, test: (px: Uint8Array, i: number) => boolean) => {
  let n = 0;
  for (let i = 0; i < image.data.length; i += 3) if (test(image.data, i)) n++;
  return n;
};

describe('the sim camera', () => {
  it('publishes a 128 x 96 rgb8 Image and its CameraInfo at 15 Hz of sim time, in an optical frame on /tf_static', async () => {
    const { daemon, codec, sim } = await startSimDaemon(cleanups, { speed: 200, paused: true });
    const { images, infos, statics } = await watch(daemon, codec, async () => {
      sim.unpause();
      await sim.until(4.5);
    });
    // Frames stamped in the first 4 s of sim time: 15 a second, on the 10 ms physics steps.
    const early = images.filter((m) => seconds(m.header.stamp) < 4 - 1e-9);
    expect(early).toHaveLength(60);
    expect(seconds(early[0]!.header.stamp)).toBe(0);
    for (const [i, m] of early.entries()) {
      expect(seconds(m.header.stamp)).toBeCloseTo(Math.ceil((i * 100) / 15) / 100, 9);
    }
    expect(daemon.bus.topicQos('/camera/image_raw')).toMatchObject({ reliability: 'best_effort' });

    for (const image of images) {
      expect({ ...image, data: image.data.length }).toEqual({
        header: { stamp: expect.anything(), frame_id: 'camera_rgb_optical_frame' },
        height: 96,
        width: 128,
        encoding: 'rgb8',
        is_bigendian: 0,
        step: 128 * 3,
        data: 128 * 3 * 96,
      });
    }
    // One CameraInfo per Image, with its stamp and frame.
    expect(infos.map((i) => i.header)).toEqual(images.map((i) => i.header));
    const info = infos[0]!;
    expect([info.width, info.height, info.distortion_model, [...info.d]]).toEqual([
      128,
      96,
      'plumb_bob',
      [0, 0, 0, 0, 0],
    ]);
    const [fx, , cx, , fy, cy] = info.k;
    // The horizontal field of view K gives is the 60° configured, with square pixels, centred.
    expect(2 * Math.atan(128 / 2 / fx!)).toBeCloseTo(Math.PI / 3, 12);
    expect([fy, cx, cy]).toEqual([fx, 63.5, 47.5]);
    expect([...info.r]).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    expect([...info.p]).toEqual([fx, 0, cx, 0, 0, fy, cy, 0, 0, 0, 1, 0]);

    // TF knows the frame, and it is an optical one (REP 103): z forward, x right, y down of camera_link.
    const optical = statics.find((t) => t.child_frame_id === 'camera_rgb_optical_frame')!;
    expect(optical.header.frame_id).toBe('camera_link');
    const mount = statics.find((t) => t.child_frame_id === 'camera_link')!;
    expect(mount.header.frame_id).toBe('base_link');
    const axes = (
      [
        [0, 0, 1],
        [1, 0, 0],
        [0, 1, 0],
      ] as const
    ).map((v) => rotate(optical.transform.rotation, [...v]).map((c) => Math.round(c * 1e9) / 1e9 + 0));
    expect(axes).toEqual([
      [1, 0, 0],
      [0, -1, 0],
      [0, 0, -1],
    ]);
  });

  it('follows sim.camera: its size, rate and field of view, or no camera when disabled', async () => {
    const camera = { width: 64, height: 48, rate_hz: 30, fov_deg: 90 };
    const { daemon, codec, sim } = await startSimDaemon(cleanups, {
      speed: 200,
      paused: true,
      config: { sim: { camera } },
    });
    const { images, infos } = await watch(daemon, codec, async () => {
      sim.unpause();
      await sim.until(2.5);
    });
    expect(images.filter((m) => seconds(m.header.stamp) < 2 - 1e-9)).toHaveLength(60);
    expect([images[0]!.width, images[0]!.height, images[0]!.step, images[0]!.data.length]).toEqual([64, 48, 192, 9216]);
    expect(infos[0]!.k[0]).toBeCloseTo(32, 12); // 90° across 64 pixels

    const off = await startSimDaemon(cleanups, { speed: 200, config: { sim: { camera: { enabled: false } } } });
    await off.sim.until(1);
    expect(off.daemon.bus.stats().filter((s) => s.topic.startsWith('/camera'))).toEqual([]);
    expect(off.daemon.bus.stats().find((s) => s.topic === '/scan')?.count).toBeGreaterThan(0);

    expect(() => parseConfigText('sim: {camera: {width: 3840, height: 2160}}', 'edge.yaml', {})).toThrow(
      'edge.yaml: sim.camera.width: expected integer >= 1 <= 1920, got 3840',
    );
    expect(() => parseConfigText('sim: {camera: {rate_hz: 7.5}}', 'edge.yaml', {})).toThrow('sim.camera.rate_hz');
  });

  it('looks down a corridor at the start, and sees the charging dock when navigation brings the robot there', async () => {
    const { daemon, codec, sim, dock } = await startSimDaemon(cleanups, {
      speed: 1000,
      paused: true,
      config: { agent: { enabled: false } },
    });
    const navigator = new Navigator({ bus: daemon.bus, codec });
    const { images } = await watch(daemon, codec, async () => {
      navigator.start();
      sim.unpause();
      const result = await navigator.navigateTo({ x: dock.x, y: dock.y }, { timeoutS: 150 });
      expect(result.reached).toBe(true);
      await sim.until(sim.time + 0.2); // a frame from where it stopped
      navigator.close();
    });
    const [first, last] = [images[0]!, images.at(-1)!];
    expect(pixels(first, isSky)).toBeGreaterThan(128 * 10);
    expect(pixels(first, isDock)).toBe(0);
    expect(pixels(last, isDock)).toBeGreaterThan(128 * 10);
    expect(pixels(last, isSky)).toBe(0); // the dead end's wall fills the view
  });
});
