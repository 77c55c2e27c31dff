// ACT as LeRobot exports and runs it, against LeRobot 0.6.1 itself (act-peer.ts): a random-weight ACTPolicy sized by
// a camera and a state, exported to ONNX with its stats.json. For the same frames and states the daemon's chunks
// equal LeRobot's predict_action_chunk, and its chunking equals LeRobot's select_action (n_action_steps from a queue,
// and temporal ensembling), within 1e-4; in a live control loop fed by a camera topic, every command is one of
// LeRobot's chunk actions.
import { join } from 'node:path';
import pino from 'pino';
import { Value } from 'typebox/value';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ActionChunker } from '../../daemon/system1/action-chunker.ts';
import { ControlLoop } from '../../daemon/system1/control/control-loop.ts';
import { PolicyRunner } from '../../daemon/system1/policy-runner.ts';
import { TemporalEnsembler } from '../../daemon/system1/temporal-ensembler.ts';
import { frameToInput } from '../../daemon/system1/vision/frame-tensor.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { LoopConfig, type LoopSettings } from '../../daemon/config/sections/system1.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { type ActExport, type ActFrame, type ActObservation, exportAct, predictAct, selectAct } from './act-peer.ts';
import { policySettings } from './models.ts';

const work = tempDir('system1-act-parity-');
afterAll(() => work.cleanup());

const [H, W, S, D, K, N] = [48, 64, 4, 3, 8, 3];
const dir = join(work.path, 'act');
let act: ActExport;

beforeAll(async () => {
  act = await exportAct(dir, {
    stateDim: S,
    actionDim: D,
    cameras: [{ name: 'front', height: H, width: W }],
    chunk: K,
    nActionSteps: N,
    small: true,
  });
}, 300_000);

/** The manifest a LeRobot user writes for the export: each feature from its topic, stats from stats.json. */
function manifest() {
  const stats = (feature: string) => ({ mode: 'mean_std', stats: act.stats, feature });
  return policySettings({
    model: act.model,
    inputs: {
      'observation.state': { sources: [{ topic: '/state', field: 'data' }], normalize: stats('observation.state') },
      'observation.images.front': {
        image: { topic: '/camera/image_raw' },
        normalize: stats('observation.images.front'),
      },
    },
    outputs: {
      action: {
        unnormalize: stats('action'),
        command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' },
      },
    },
  });
}

/** A deterministic frame of noise with structure, different for each seed. */
function frame(seed: number): ActFrame {
  const data = new Uint8Array(H * W * 3);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < data.length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    data[i] = (x >>> 24) ^ ((i / 3 / W) * 4);
  }
  return { width: W, height: H, data };
}

const observations: ActObservation[] = Array.from({ length: 7 }, (_, i) => ({
  state: [Math.sin(i), Math.cos(i) * 2, i / 7, -0.5 * i],
  images: { front: frame(i) },
}));

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>) => {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

describe('ACT from LeRobot 0.6.1, run by the daemon', () => {
  it(
    "gives LeRobot's predict_action_chunk for the same frames and states, and its select_action (n_action_steps, temporal ensembling)",
    { timeout: 300_000 },
    async () => {
      const runner = await PolicyRunner.open('act', manifest());
      const image = runner.spec.inputs.find((i) => i.image)!.image!;
      const ours: Float32Array[] = [];
      try {
        for (const o of observations) {
          const pixels = new Float32Array(3 * H * W);
          frameToInput(o.images.front!.data, 'rgb', image, pixels);
          const out = await runner.run({
            'observation.state': Float32Array.from(o.state),
            'observation.images.front': pixels,
          });
          expect(out.action!.shape).toEqual([1, K, D]);
          ours.push(out.action!.data);
        }
      } finally {
        await runner.close();
      }
      const lerobot = await predictAct(dir, observations);
      const worst = Math.max(...lerobot.map((chunk, i) => maxDiff(ours[i]!, chunk.flat())));
      expect(worst).toBeLessThan(1e-4);
      // The frame matters: two observations' chunks differ far more than the tolerance.
      expect(maxDiff(ours[0]!, ours[1]!)).toBeGreaterThan(1e-2);

      // select_action with its queue: inference when it is empty, the first n_action_steps actions executed.
      const queue = new ActionChunker({ chunkSize: K, threshold: 0, aggregate: 'latest_only', actionSteps: N });
      const queued: number[][] = [];
      for (let t = 0; t < observations.length; t++) {
        if (queue.wantsObservation()) queue.receive(queue.observationSent(true), ours[t]!, D);
        queued.push(Array.from(queue.pop()!.action));
      }
      const selected = await selectAct(dir, observations);
      expect(maxDiff(queued.flat(), selected.flat())).toBeLessThan(1e-4);

      // Temporal ensembling: a chunk every step, each action the weighted average of its predictions.
      const coeff = 0.5;
      const ensembler = new TemporalEnsembler({ chunkSize: K, coeff });
      const ensembled: number[][] = [];
      for (let t = 0; t < observations.length; t++) {
        ensembler.receive(ensembler.observationSent(), ours[t]!, D);
        ensembled.push(Array.from(ensembler.pop()!.action));
      }
      const lerobotEnsembled = await selectAct(dir, observations, coeff);
      expect(maxDiff(ensembled.flat(), lerobotEnsembled.flat())).toBeLessThan(1e-4);
    },
  );

  it(
    "drives a control loop from a camera topic and a state topic: every command is one of LeRobot's chunk actions",
    { timeout: 300_000 },
    async () => {
      const o = observations[3]!;
      const [chunk] = await predictAct(dir, [o]);
      const definitions = new DefinitionsRegistry();
      const codec = new MessageCodec(definitions);
      const bus = new Bus();
      const commands: { values: number[]; safe: boolean }[] = [];
      const loop = new ControlLoop({
        name: 'act',
        loop: Value.Default(LoopConfig, {
          policy: 'act',
          rate_hz: 20,
          // A loaded CI machine must not make the constant observation stale.
          max_observation_age_ms: 5000,
          safe_action: [0, 0, 0],
          chunking: { inference: 'inline', threshold: 0, n_action_steps: K },
          scheduling: 'other',
          nice: 0,
        }) as LoopSettings,
        policyName: 'act',
        policy: manifest(),
        bus,
        definitions,
        log: pino({ level: 'silent' }),
        onCommand: (values, safe) => void commands.push({ values: Array.from(values), safe }),
      });
      await loop.start();
      const camera = bus.advertise('/camera/image_raw', 'sensor_msgs/msg/Image', { source: 'test' });
      const state = bus.advertise('/state', 'std_msgs/msg/Float64MultiArray', { source: 'test' });
      const image = codec.encode('sensor_msgs/msg/Image', {
        height: H,
        width: W,
        encoding: 'rgb8',
        is_bigendian: 0,
        step: W * 3,
        data: o.images.front!.data,
      });
      const stateMsg = codec.encode('std_msgs/msg/Float64MultiArray', {
        layout: { dim: [], data_offset: 0 },
        data: Float64Array.from(o.state),
      });
      const timer = setInterval(() => {
        camera.publish(image);
        state.publish(stateMsg);
      }, 30);
      try {
        await waitFor(() => commands.filter((c) => !c.safe).length >= 2 * K, 'two chunks of commands', 240_000);
      } finally {
        clearInterval(timer);
        await loop.close();
        bus.close();
      }
      const policy = commands.filter((c) => !c.safe);
      // Each command is the nearest of LeRobot's K actions within 1e-4, and every one of them was sent.
      const matched = new Set<number>();
      for (const c of policy) {
        const distances = chunk!.map((a) => maxDiff(c.values, a));
        const best = distances.indexOf(Math.min(...distances));
        expect(distances[best]).toBeLessThan(1e-4);
        matched.add(best);
      }
      expect(matched.size).toBe(K);
      expect(maxDiff(policy[0]!.values, chunk![0]!)).toBeLessThan(1e-4);
    },
  );
});
