import { join } from 'node:path';
import { Value } from 'typebox/value';
import { PolicyConfig, type PolicySettings } from '../daemon/config/index.ts';
import { checkedChunk } from '../daemon/system1/remote/chunk-check.ts';
import { OpenpiClient } from '../daemon/system1/remote/openpi-client.ts';
import { openpiOptions } from '../daemon/system1/remote/remote-settings.ts';
import { errorText } from '../daemon/util/index.ts';
import { tempDir } from '../test/helpers/cli.ts';
import { waitFor } from '../test/helpers/wait.ts';
import { runPeer } from '../test/peers/index.ts';
import { openpiPython, OPENPI_SCRIPTS, startOpenpiServer, type OpenpiServer } from '../test/peers/openpi.ts';
import { loopHarness } from '../test/system1/loop-harness.ts';
import { writeChunkModel } from '../test/system1/models.ts';
import { percentile, skippedResult, tail, type BenchResult } from './bench.ts';

// A loop's policy on an openpi websocket server (test/peers/python/openpi_server.py: openpi-client's msgpack_numpy over
// the websockets package, on this machine).
// 1. The round trip of one observation (state [6] float32 and a 224 x 224 x 3 uint8 frame, Pi0's input size) to a
//    chunk of 50 x 6 float32 from a NumPy policy (the wire's cost, not a model's): ours, OpenpiClient.infer and the
//    chunk's checks (what a loop's inference thread does per chunk), against openpi-client's own
//    WebsocketClientPolicy.infer (pack, send, receive, unpack) to the same server, in blocks taking turns.
// 2. A 30 Hz loop on that server with 20, 80 and 150 ms added before each reply (the server sleeps), chunks of 50
//    (Pi0's horizon) and of 10 (a small ACT's): its held ticks (underruns, on_underrun: hold) and missed deadlines
//    over TICKS ticks after its first chunk, beside the same loop on the same chunk policy run here (an ONNX chunk
//    model, async inference), measured in the same run.

const RUNS = Number(process.env.BENCH_REMOTE_RUNS ?? 300);
const BLOCKS = 2;
const WARMUP = 20;
const TICKS = Number(process.env.BENCH_REMOTE_TICKS ?? 300);
const RATE_HZ = 30;
const [H, W] = [224, 224];

export async function run(): Promise<BenchResult[]> {
  try {
    openpiPython();
  } catch (error) {
    return skippedResult('remote policy (openpi)', 'ms', errorText(error));
  }
  const work = tempDir('bench-remote-policy-');
  const server = await startOpenpiServer({ policy: 'ramp', chunk: 50, actionDim: 6 });
  try {
    const results = [await roundTrip(server)];
    for (const chunk of [50, 10]) {
      const local = await loopFigures({ model: writeChunkModel(work.path, chunk), chunk });
      for (const delayMs of [20, 80, 150]) {
        const remote = await remoteLoopFigures(chunk, delayMs);
        const chunkMs = (chunk / RATE_HZ) * 1000;
        const name = `${RATE_HZ} Hz loop, openpi chunk ${chunk} (${chunkMs.toFixed(0)} ms), server ${delayMs} ms away`;
        results.push(
          {
            name: `${name}: held ticks in ${TICKS}`,
            ours: remote.held,
            baseline: { name: 'the same chunks from a local ONNX policy, async', value: local.held },
            unit: 'ticks',
            better: 'lower',
            goal: chunkMs > delayMs ? 'none while the chunk outlasts the latency' : undefined,
            met: chunkMs > delayMs ? remote.held === 0 : undefined,
            notes: [
              `round trip ${remote.rtt}; late actions dropped ${remote.late}; chunks ${remote.chunks} (local ${local.chunks})`,
            ],
          },
          {
            name: `${name}: missed deadlines in ${TICKS}`,
            ours: remote.missed,
            baseline: { name: 'the same chunks from a local ONNX policy, async', value: local.missed },
            unit: 'ticks',
            better: 'lower',
          },
        );
      }
    }
    return results;
  } finally {
    await server.close();
    work.cleanup();
  }
}

/** Ours and openpi-client's round trips to `server`, in blocks taking turns. */
async function roundTrip(server: OpenpiServer): Promise<BenchResult> {
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let b = 0; b < BLOCKS; b++) {
    ours.push(...(await oursBlock(server.url)));
    const out = await runPeer(openpiPython(), [
      join(OPENPI_SCRIPTS, 'openpi_client_peer.py'),
      'bench',
      server.url,
      ...['--image', `${H}x${W}:30,60,90`, '--runs', String(RUNS), '--warmup', String(WARMUP)],
    ]);
    theirs.push(...(JSON.parse(out) as { times_ms: number[] }).times_ms);
  }
  ours.sort((a, b) => a - b);
  theirs.sort((a, b) => a - b);
  const [o50, t50] = [percentile(ours, 50), percentile(theirs, 50)];
  return {
    name: `openpi round trip, state 6 + ${H}x${W}x3 uint8 frame -> chunk 50x6: p50`,
    ours: o50,
    baseline: { name: "openpi-client 0.1.2's WebsocketClientPolicy.infer, same server", value: t50 },
    unit: 'ms',
    better: 'lower',
    goal: '<= 1.1x openpi-client',
    met: o50 <= 1.1 * t50,
    notes: [
      `${BLOCKS} blocks of ${RUNS} each after ${WARMUP} warm-up, taking turns: ours ${tail(ours, 'ms', 3)}; openpi-client ${tail(theirs, 'ms', 3)}`,
    ],
  };
}

/** RUNS round trips of OpenpiClient.infer and the chunk's checks, one after the other, as a loop asks. */
async function oursBlock(url: string): Promise<number[]> {
  const settings = Value.Default(PolicyConfig, {
    remote: { openpi: url },
    inputs: {
      'observation/state': { shape: [6] },
      'observation/image': { shape: [H, W, 3], dtype: 'uint8' },
    },
    outputs: { actions: { shape: [50, 6] } },
  }) as PolicySettings;
  const client = new OpenpiClient(openpiOptions('bench', settings, 'actions'));
  client.start(() => undefined);
  await waitFor(() => client.state === 'up', 'the connection');
  const image = new Uint8Array(H * W * 3).map((_, i) => [30, 60, 90][i % 3]!);
  const inputs = { 'observation/state': new Float32Array(6), 'observation/image': image };
  const signal = new AbortController().signal;
  const times: number[] = [];
  try {
    for (let i = 0; i < WARMUP + RUNS; i++) {
      const started = performance.now();
      checkedChunk(await client.infer(inputs, i, signal), [50, 6]);
      if (i >= WARMUP) times.push(performance.now() - started);
    }
  } finally {
    await client.close();
  }
  return times;
}

interface LoopFigures {
  held: number;
  missed: number;
  late: number;
  chunks: number;
  rtt: string;
}

/** A 30 Hz loop on a server `delayMs` away, with chunks of `chunk` x 2. */
async function remoteLoopFigures(chunk: number, delayMs: number): Promise<LoopFigures> {
  const server = await startOpenpiServer({ policy: 'ramp', chunk, actionDim: 2, delayMs });
  try {
    return await loopFigures({ remote: { settings: { openpi: server.url }, chunk: [chunk, 2] }, chunk });
  } finally {
    await server.close();
  }
}

/** TICKS ticks of a 30 Hz loop after its first chunk, from a local model or a remote policy. */
async function loopFigures(policy: {
  model?: string;
  remote?: { settings: Record<string, unknown>; chunk: [number, number] };
  chunk: number;
}): Promise<LoopFigures> {
  const { bus, control } = loopHarness(
    policy.model ?? '',
    { rate_hz: RATE_HZ, on_underrun: 'hold' },
    {
      inputs: policy.remote
        ? { obs: { shape: [2], sources: [{ constant: [1, -1] }] } }
        : { obs: { sources: [{ constant: [1, -1] }] } },
      ...(policy.remote ? { remote: policy.remote } : {}),
    },
  );
  await control.start();
  try {
    await waitFor(() => control.stats().chunks >= 1, 'the first chunk', 60_000);
    const first = control.stats();
    await waitFor(() => control.stats().ticks >= first.ticks + TICKS, `${TICKS} ticks`, 120_000);
    const last = control.stats();
    const remote = last.remote;
    return {
      held: last.underruns - first.underruns,
      missed: last.missedDeadlines - first.missedDeadlines,
      late: last.lateActions - first.lateActions,
      chunks: last.chunks - first.chunks,
      rtt: remote ? `p50 ${remote.rttP50Ms?.toFixed(1)}, p99 ${remote.rttP99Ms?.toFixed(1)} ms` : 'local',
    };
  } finally {
    await control.close();
    bus.close();
  }
}
