// An outside Zenoh client in Python (test/peers/zenoh/vla_client.py) queries a policy the daemon serves with camera
// frames it made itself: a raw rgb8 frame, a PNG it encodes, a JPEG, and the JSON form. The model answers each
// channel's mean (vision-models.ts), and each reply is checked against the same model run here on the same bytes.
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { decodeFrame } from '../../daemon/system1/vision/image-decode.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { tempDir } from '../helpers/cli.ts';
import { hostileFrames } from '../helpers/hostile-frames.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { policySettings } from '../system1/models.ts';
import { writeChannelMeanModel } from '../system1/vision-models.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const IMAGE = 'observation.images.front';
const [W, H] = [16, 12];
const STATE = [0.5, -2];

interface Reply {
  request: string;
  sent?: string;
  encoding?: string;
  error?: string;
  fields?: { policy?: string; chunk?: number; timestep?: number; error?: { code: string; message: string } };
  tensors?: { name: string; shape: number[]; data: number[] }[];
  body?: { outputs?: Record<string, { shape: number[]; data: number[][][] }>; error?: unknown };
}

describe('ai/inference/vla/<policy> with camera frames from a Python Zenoh client', () => {
  const zn = useZenohNetwork();
  const tmp = tempDir('zenoh-vla-images-');
  let daemon: Daemon;
  let stopDaemon: (() => Promise<void>) | undefined;
  let runner: PolicyRunner;
  const policy = {
    model: '',
    serve: true,
    // A decode budget far past any frame here: the codes are the frames', not a loaded machine's (a hostile JPEG
    // took past the default 250 ms to refuse in a full run, and was answered over_budget).
    inputs: { [IMAGE]: { image: { topic: '/camera/image_raw', decode_timeout_ms: 10_000 } } },
  };

  beforeAll(async () => {
    policy.model = writeChannelMeanModel(tmp.path, 'eye', { height: H, width: W, state: 2, chunk: 4 });
    ({ daemon, stop: stopDaemon } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl },
      policies: { eye: policy },
    }));
    await waitFor(() => daemon.componentHealth().zenoh?.state === 'running', 'the Zenoh link to come up');
    // The oracle: the same model and manifest, run in this process.
    runner = await PolicyRunner.open('eye', policySettings(policy));
  });
  afterAll(async () => {
    await runner?.close();
    await stopDaemon?.();
    tmp.cleanup();
  });

  /** The chunk the model computes for these frame bytes, decoded as the daemon decodes a camera's. */
  async function expected(message: Record<string, unknown>): Promise<number[]> {
    const { image } = runner.spec.inputs.find((i) => i.name === IMAGE)!;
    const frame = await decodeFrame(message, {
      width: W,
      height: H,
      channels: 3,
      resize: image!.settings.resize,
      maxPixels: image!.settings.max_pixels,
    });
    const out = await runner.run({ [IMAGE]: frame, 'observation.state': Float32Array.from(STATE) });
    return Array.from(out.action!.data);
  }

  it('answers a raw rgb8 frame, a PNG and a JPEG with the chunk the model computes for them, and a truncated JPEG and each hostile frame with its code', async () => {
    const jpegPath = join(tmp.path, 'frame.jpg');
    const scene = new Uint8Array(64 * 48 * 3).map((_, i) => (i % 3 === 0 ? 220 : i % 3 === 1 ? (i >> 6) % 256 : 30));
    writeFileSync(
      jpegPath,
      await sharp(scene, { raw: { width: 64, height: 48, channels: 3 } })
        .jpeg()
        .toBuffer(),
    );
    const hostile = (await hostileFrames()).map(({ name, format, data, code }, i) => {
      const path = join(tmp.path, `hostile-${i}`);
      writeFileSync(path, data);
      return { name, format, path, code };
    });
    const client = await zn.peer(
      {
        key: 'ai/inference/vla/eye',
        state: STATE,
        jpeg: jpegPath,
        raw: { width: 40, height: 30 },
        png: { width: W, height: H },
        hostile: hostile.map(({ name, format, path }) => ({ name, format, path })),
      },
      resolve('test/peers/zenoh/vla_client.py'),
    );
    await client.next((e) => e.event === 'done', 'the client to finish', 60_000);
    const replies = new Map(
      client.events.filter((e) => e.event === 'reply').map((e) => [e.request as string, e as unknown as Reply]),
    );
    const bytes = (r: Reply) => Uint8Array.from(Buffer.from(r.sent!, 'hex'));

    const rgb8 = replies.get('rgb8')!;
    expect(rgb8.error ?? rgb8.fields?.error).toBeUndefined();
    expect(rgb8.encoding).toContain('application/x-auraison-tensors');
    expect(rgb8.fields).toMatchObject({ policy: 'eye', chunk: 4, timestep: 0 });
    expect(rgb8.tensors!.map((t) => [t.name, t.shape])).toEqual([['action', [1, 4, 2]]]);
    const rawMessage = { encoding: 'rgb8', width: 40, height: 30, step: 120, data: bytes(rgb8) };
    expect(rgb8.tensors![0]!.data).toEqual(await expected(rawMessage));

    // The PNG is of the input's size: no resize, so its means are exact (channel 0 ramps 0..255 across, B is
    // (7x + 13y) mod 256), plus the state's first element, times the step in the chunk.
    const png = replies.get('png')!;
    expect(png.fields).toMatchObject({ chunk: 4, timestep: 1 });
    expect(png.tensors![0]!.data).toEqual(await expected({ format: 'png', data: bytes(png) }));
    let [r, b] = [0, 0];
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        r += Math.floor((x * 255) / (W - 1));
        b += (x * 7 + y * 13) % 256;
      }
    const means = [r / (W * H * 255) + STATE[0]!, b / (W * H * 255) + STATE[0]!];
    png.tensors![0]!.data.forEach((v, i) => expect(v).toBeCloseTo(means[i % 2]! * (Math.floor(i / 2) + 1), 5));

    const jpeg = replies.get('jpeg')!;
    expect(jpeg.fields).toMatchObject({ chunk: 4, timestep: 2 });
    expect(jpeg.tensors![0]!.data).toEqual(await expected({ format: 'jpeg', data: bytes(jpeg) }));
    expect(jpeg.tensors![0]!.data[0]).toBeCloseTo(220 / 255 + STATE[0]!, 1);

    const truncated = replies.get('truncated jpeg')!;
    expect(truncated.fields?.error?.code, JSON.stringify(truncated)).toBe('decode_failed');
    expect(truncated.tensors).toEqual([]);

    // Another format under a jpeg or png label, or a JPEG with short or corrupt data: its code, no outputs.
    for (const { name, code } of hostile) {
      const reply = replies.get(name);
      expect([name, reply?.fields?.error?.code], JSON.stringify(reply)).toEqual([name, code]);
      expect(reply!.tensors).toEqual([]);
    }

    const json = replies.get('json rgb8')!;
    expect(json.encoding).toContain('application/json');
    expect(json.body!.outputs!.action!.data.flat(2)).toEqual(rgb8.tensors![0]!.data);
  });
});
