import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { Value } from 'typebox/value';
import { ControlLoop } from '../daemon/system1/index.ts';
import { buildLinearPolicy } from '../sim/scan-policy/onnx-builder.ts';
import { Bus, DefinitionsRegistry, MessageCodec } from '../daemon/bus/index.ts';
import { LoopConfig, PolicyConfig, type LoopSettings, type PolicySettings } from '../daemon/config/index.ts';
import { writeChannelMeanModel } from '../test/system1/vision-models.ts';
import { startRecorderLoad } from './recorder-load.ts';
import { startCamera } from './synthetic-camera.ts';
import { sleep } from '../daemon/util/index.ts';

export const RIG = { rateHz: 50, camera: { width: 640, height: 480, rateHz: 30 }, size: 224, state: 6 };
const ARRAY = 'std_msgs/msg/Float64MultiArray';

export interface VisionRig {
  control: ControlLoop;
  loop: LoopSettings;
  /** Camera frames published so far (0 without a camera). */
  frames(): number;
  /** Stops the loop, the camera and the recorder; what the recorder wrote and dropped (0 without one). */
  close(): Promise<{ written: number; drops: number }>;
}

/**
 * The vision benches' loop on a bus of its own: a 50 Hz ControlLoop whose policy takes a 6-element state (/obs,
 * published at the loop's rate) and, with `camera`, a 3 x 224 x 224 image fed by a 30 Hz 640 x 480 rgb8 camera
 * (frame-feed.ts: resized on libvips' thread, through the shared frame slot, ImageNet-normalized) into the vision test
 * model (test/system1/vision-models.ts: each channel's mean), so the loop and its camera are what is measured, not a
 * network's arithmetic. Without a camera the policy is a linear one of the state alone. With `recorder`, the recorder
 * writes 10 MB/s beside it (bench/recorder-load.ts; the camera is not recorded). Models are written under `dir`.
 * `isolation` is the loop's (default thread).
 */
export async function startVisionRig(options: {
  dir: string;
  camera: boolean;
  recorder: boolean;
  isolation?: LoopSettings['isolation'];
}): Promise<VisionRig> {
  const { dir, camera, recorder, isolation = 'thread' } = options;
  const bus = new Bus();
  const definitions = new DefinitionsRegistry();
  const recording = recorder ? await startRecorderLoad({ bus, definitions, dir }) : undefined;
  const frames = camera ? startCamera({ bus, definitions, topic: '/camera/image_raw', ...RIG.camera }) : undefined;
  const codec = new MessageCodec(definitions);
  const obs = bus.advertise('/obs', ARRAY, { source: 'bench' });
  const state = codec.encode(ARRAY, {
    layout: { dim: [], data_offset: 0 },
    data: Float64Array.from({ length: RIG.state }, (_, i) => Math.sin(i) * 0.3),
  });
  const obsTimer = setInterval(() => obs.publish(state), 1000 / RIG.rateHz);
  const stateInput = { 'observation.state': { sources: [{ topic: '/obs', field: 'data' }] } };
  let model: string;
  if (camera)
    model = writeChannelMeanModel(dir, 'channel-mean', {
      height: RIG.size,
      width: RIG.size,
      state: RIG.state,
      output: 'actions',
    });
  else {
    model = join(dir, 'state-linear.onnx');
    const weight = Float32Array.from({ length: 2 * RIG.state }, (_, i) => (i % RIG.state === 0 ? 1 : 0));
    writeFileSync(model, buildLinearPolicy({ inputName: 'observation.state', weight, bias: new Float32Array(2) }));
  }
  const policy = Value.Default(PolicyConfig, {
    model,
    inputs: camera
      ? {
          ...stateInput,
          'observation.images.front': { image: { topic: '/camera/image_raw' }, normalize: { mode: 'imagenet' } },
        }
      : stateInput,
    outputs: { actions: { command: { topic: '/cmd', type: ARRAY } } },
  }) as PolicySettings;
  const loop = Value.Default(LoopConfig, {
    policy: 'vision',
    rate_hz: RIG.rateHz,
    max_observation_age_ms: 200,
    isolation,
  }) as LoopSettings;
  const control = new ControlLoop({
    name: 'bench',
    loop,
    policyName: 'vision',
    policy,
    bus,
    definitions,
    log: pino({ level: 'silent' }),
  });
  const close = async () => {
    clearInterval(obsTimer);
    frames?.close();
    await control.close();
    const load = (await recording?.close()) ?? { written: 0, drops: 0 };
    bus.close();
    return load;
  };
  try {
    await control.start();
    // Fresh ticks before anything is measured: a loop waiting for its first frame is not what is measured.
    for (let waited = 0; control.stats().ticks - control.stats().staleTicks < 5; waited += 50) {
      if (waited > 10_000) throw new Error(`no fresh tick within 10 s: ${JSON.stringify(control.stats())}`);
      await sleep(50);
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { control, loop, frames: () => frames?.published() ?? 0, close };
}
