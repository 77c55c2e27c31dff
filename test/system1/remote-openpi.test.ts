// A control loop whose policy an openpi websocket server serves (test/peers/python/openpi_server.py: openpi-client's
// own msgpack_numpy over the websockets package, serving LeRobot's ACT in PyTorch, or a NumPy ramp whose actions say
// which chunk and which action of it the robot got).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { waitFor } from '../helpers/wait.ts';
import { openpiPython, OPENPI_SCRIPTS, startOpenpiServer, type OpenpiServer } from '../peers/openpi.ts';
import { runPeer } from '../peers/index.ts';
import { loopHarness } from './loop-harness.ts';

const cleanups = cleanupStack();
const codec = new MessageCodec(new DefinitionsRegistry());
const IMAGE = 'sensor_msgs/msg/Image';
const STATE = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6];
const [H, W] = [48, 64];
const RGB = [200, 30, 90];

/** An rgb8 frame of the camera's own size: the loop passes it to the input as its bytes, resized to nothing. */
function frame(): Uint8Array {
  const data = new Uint8Array(W * H * 3);
  for (let i = 0; i < data.length; i++) data[i] = RGB[i % 3]!;
  return codec.encode(IMAGE, { height: H, width: W, encoding: 'rgb8', is_bigendian: 0, step: W * 3, data });
}

/** Inputs as openpi's examples name them: the state from /obs, the camera's frame as uint8 [H, W, 3]. */
const INPUTS = {
  'observation/state': { shape: [6], sources: [{ topic: '/obs', field: 'data' }] },
  'observation/image': { shape: [H, W, 3], dtype: 'uint8', image: { topic: '/camera/image_raw' } },
};
const STATE_ONLY = { 'observation/state': { shape: [6], sources: [{ topic: '/obs', field: 'data' }] } };

/** A loop at `rateHz` on the openpi server at `url`, fed its state (and camera) until the test ends. */
async function remoteLoop(url: string, chunk: [number, number], options: { rateHz?: number; camera?: boolean } = {}) {
  const { rateHz = 30, camera = false } = options;
  const harness = loopHarness(
    '',
    {
      rate_hz: rateHz,
      on_underrun: 'hold',
      chunking: { aggregate: 'latest_only', threshold: 0.5, inference: 'async', inference_timeout_ms: 1000 },
    },
    { inputs: camera ? INPUTS : STATE_ONLY, remote: { settings: { openpi: url }, chunk } },
  );
  const { bus, control, publishing } = harness;
  await control.start();
  cleanups.push(() => bus.close());
  cleanups.push(() => control.close());
  cleanups.push(publishing(STATE));
  if (camera) {
    const publisher = bus.advertise('/camera/image_raw', IMAGE, { source: 'test' });
    const bytes = frame();
    const timer = setInterval(() => publisher.publish(bytes), 20);
    cleanups.push(() => clearInterval(timer));
  }
  return harness;
}

describe("a loop whose policy is LeRobot's ACT on an openpi server", () => {
  let server: OpenpiServer;
  beforeAll(async () => {
    server = await startOpenpiServer({ policy: 'act', chunk: 10, actionDim: 6, camera: [H, W] });
  }, 120_000);
  afterAll(() => server?.close());

  it("executes the chunk openpi-client's own client gets for the same observation", async () => {
    const { control, commands } = await remoteLoop(server.url, [10, 6], { camera: true });
    await waitFor(() => control.stats().chunks >= 3, 'three chunks from the server');
    const reference = JSON.parse(
      await runPeer(openpiPython(), [
        join(OPENPI_SCRIPTS, 'openpi_client_peer.py'),
        'infer',
        server.url,
        '--state',
        STATE.join(','),
        '--image',
        `${H}x${W}:${RGB.join(',')}`,
      ]),
    ) as number[][];
    expect(reference).toHaveLength(10);
    // ACT in eval mode is a function of its inputs: every action the robot got is a row of that chunk, as float32.
    const executed = commands.filter((c) => !c.safe);
    expect(executed.length).toBeGreaterThan(0);
    for (const c of executed) {
      const row = reference.find((r) => r.every((v, i) => Math.abs(Math.fround(v) - c.values[i]!) < 1e-5));
      expect(row, `command ${JSON.stringify(c.values)} is a row of openpi-client's chunk`).toBeDefined();
    }
    // The server took the arrays as openpi's examples send them: float32 state, the frame's bytes channels last.
    expect(server.observation).toEqual({
      'observation/state': { dtype: '<f4', shape: [6] },
      'observation/image': { dtype: '|u1', shape: [H, W, 3] },
    });
    const remote = control.stats().remote!;
    expect(remote).toMatchObject({ endpoint: `openpi ${server.url}`, state: 'up', connects: 1, failures: {} });
    expect(remote.rttP50Ms).toBeGreaterThan(0);
    expect(remote.serverMs).toBeGreaterThan(0);
  });
});

describe('a loop on an openpi server whose chunks come back late', () => {
  let server: OpenpiServer;
  beforeAll(async () => {
    server = await startOpenpiServer({ policy: 'ramp', chunk: 20, actionDim: 2, delayMs: 150 });
  }, 60_000);
  afterAll(() => server?.close());

  it("aligns each chunk to its observation's timestep: the actions already past are dropped, counted", async () => {
    const { control, commands } = await remoteLoop(server.url, [20, 2], { rateHz: 50 });
    await waitFor(() => control.stats().chunks >= 5, 'five chunks');
    // Action k of chunk c is 1000 c + k + 1. A chunk back 150 ms (7 ticks) after its observation starts at the
    // observation's timestep: its first actions were due while it travelled, and are never executed.
    const firsts = new Map<number, number>();
    for (const c of commands.filter((x) => !x.safe)) {
      const chunk = Math.floor(c.values[0]! / 1000);
      if (!firsts.has(chunk)) firsts.set(chunk, (c.values[0]! % 1000) - 1);
    }
    const later = [...firsts.entries()].filter(([chunk]) => chunk >= 1).map(([, k]) => k);
    expect(later.length).toBeGreaterThan(0);
    expect(Math.min(...later)).toBeGreaterThanOrEqual(2);
    expect(control.stats().lateActions).toBeGreaterThan(0);
  });
});

describe("a remote policy's actions pass the loop's frame, in a thread or a process of its own", () => {
  let server: OpenpiServer;
  beforeAll(async () => {
    server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2 });
  }, 60_000);
  afterAll(() => server?.close());

  it('clips every action, and sends only the safe action while the stop is latched, the chunks still coming', async () => {
    let latched: string | undefined;
    const { control, commands, published, publishing, bus } = loopHarness(
      '',
      { rate_hz: 50, on_underrun: 'hold' },
      {
        inputs: STATE_ONLY,
        remote: {
          settings: { openpi: server.url, fields: { prompt: 'pick up the cube', episode: 3 } },
          chunk: [10, 2],
        },
        command: { clip: [-0.5, 0.5] },
        refusal: () => latched,
      },
    );
    await control.start();
    cleanups.push(() => bus.close());
    cleanups.push(() => control.close());
    cleanups.push(publishing(STATE));
    await waitFor(() => published.length > 20 && control.stats().chunks >= 2, 'commands from two chunks');
    // The ramp's actions are 1 and more: every one sent was clipped to 0.5.
    expect(published.every((values) => values.every((v) => Math.abs(v) <= 0.5))).toBe(true);
    expect(published.some((values) => values[0] === 0.5)).toBe(true);
    // What the server took: the state as float32 [6], and the constant fields beside it.
    expect(server.observation).toEqual({
      'observation/state': { dtype: '<f4', shape: [6] },
      prompt: 'pick up the cube',
      episode: 3,
    });
    latched = "the operator's stop is latched";
    const chunks = control.stats().chunks;
    const from = commands.length;
    await waitFor(() => control.stats().chunks >= chunks + 3, 'three more chunks while latched');
    // A policy command posted before the loop thread saw the latch is not published (nor counted here) either.
    const since = commands.slice(from);
    expect(since.length).toBeGreaterThan(0);
    expect(since.every((c) => c.safe && c.values.every((v) => v === 0))).toBe(true);
  });

  it('runs its openpi client in the loop process under isolation: process, its status relayed to the daemon', async () => {
    const { control, commands, publishing, bus } = loopHarness(
      '',
      { rate_hz: 50, on_underrun: 'hold', isolation: 'process' },
      { inputs: STATE_ONLY, remote: { settings: { openpi: server.url }, chunk: [10, 2] } },
    );
    await control.start();
    cleanups.push(() => bus.close());
    cleanups.push(() => control.close());
    cleanups.push(publishing(STATE));
    await waitFor(() => (control.stats().remote?.chunks ?? 0) >= 3, 'three chunks, said by the process');
    expect(control.stats().remote).toMatchObject({ endpoint: `openpi ${server.url}`, state: 'up', failures: {} });
    await waitFor(() => commands.some((c) => !c.safe), 'a command from a chunk');
  });
});
