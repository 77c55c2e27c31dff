// Frames an attacker with a camera publisher or an inference client sends (issue 63): other formats under a jpeg or png
// label, JPEGs with short or corrupt data, and frames that cost more than their decode budget. None becomes an
// observation, none moves a loop, and a flood of them costs only their own camera: the stop, its release and a good
// camera on another loop go on.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { STEP_BACK_FRAMES } from '../../daemon/system1/control/frame-stamps.ts';
import { type Cleanup, runCleanups } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { costlyPng, hostileFrames, noiseJpeg, svgBomb } from '../helpers/hostile-frames.ts';
import { waitFor } from '../helpers/wait.ts';
import { allFresh, COMPRESSED, codec, FRONT, goodFrame, IMAGE, SAFE, startCameraDaemon } from './camera-daemon.ts';
import { loopHarness } from './loop-harness.ts';
import { writeChannelMeanModel } from './vision-models.ts';

const tmp = tempDir('hostile-frames-');
afterAll(() => tmp.cleanup());
const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const every = (ms: number, send: () => void) => {
  const timer = setInterval(send, ms);
  cleanups.push(() => clearInterval(timer));
};

describe('hostile frames on a camera topic', () => {
  it('refuses and counts each, and the loop sends only its safe action: no frame of them is seen as grey', async () => {
    const model = writeChannelMeanModel(tmp.path, 'mean-hostile', { height: 12, width: 16, output: 'actions' });
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, max_observation_age_ms: 300, safe_action: SAFE },
      { inputs: { [FRONT]: { image: { topic: '/camera/compressed' } } } },
    );
    await control.start();
    cleanups.push(async () => {
      await control.close();
      bus.close();
    });
    const frames = await hostileFrames();
    const camera = bus.advertise('/camera/compressed', COMPRESSED, { source: 'test' });
    let sent = 0;
    every(10, () => {
      const { format, data } = frames[sent++ % frames.length]!;
      camera.publish(codec.encode(COMPRESSED, { format, data }));
    });
    await waitFor(() => control.stats().observationErrors >= 3 * frames.length, 'each hostile frame refused thrice');
    expect(commands.length).toBeGreaterThan(0);
    expect(commands.filter((c) => !c.safe)).toEqual([]);
    expect(control.stats().alive).toBe(true);
  });
});

const S = 1_000_000_000n;
const wallNs = () => BigInt(Date.now()) * 1_000_000n;
/** A 16 x 12 rgb8 Image with its header.stamp as given. */
const rawStamped = (stamp: { sec: number; nanosec: number }) =>
  codec.encode(IMAGE, {
    header: { stamp },
    height: 12,
    width: 16,
    encoding: 'rgb8',
    is_bigendian: 0,
    step: 48,
    data: new Uint8Array(16 * 12 * 3).fill(200),
  });
const rawAt = (ns: bigint) => rawStamped({ sec: Number(ns / S), nanosec: Number(ns % S) });

/** A 100 Hz loop on the camera /camera/image_raw (its frames' age judged by `ageFrom`), and the camera. */
async function stampedLoop(name: string, ageFrom: 'stamp' | 'arrival' = 'stamp') {
  const model = writeChannelMeanModel(tmp.path, name, { height: 12, width: 16, output: 'actions' });
  const { bus, control, commands } = loopHarness(
    model,
    { rate_hz: 100, max_observation_age_ms: 300, safe_action: SAFE },
    { inputs: { [FRONT]: { image: { topic: '/camera/image_raw', age_from: ageFrom } } } },
  );
  await control.start();
  cleanups.push(async () => {
    await control.close();
    bus.close();
  });
  return { control, commands, camera: bus.advertise('/camera/image_raw', IMAGE, { source: 'test' }) };
}

describe('a camera replaying old frames', () => {
  it.each([
    [
      'stamped 2 s ago on the daemon clock: stale',
      'stamp',
      (i: number) => wallNs() - 2_000_000_000n + BigInt(i),
      false,
    ],
    ['stamped now: fresh', 'stamp', () => wallNs(), true],
    ['stamped 2 s ago with age_from: arrival: fresh', 'arrival', () => wallNs() - 2_000_000_000n, true],
  ] as const)('is seen by its header.stamp: %s', async (_what, ageFrom, stamp, moves) => {
    const { control, commands, camera } = await stampedLoop(`mean-stamp-${ageFrom}`, ageFrom);
    let i = 0;
    every(20, () => camera.publish(rawAt(stamp(i++))));
    await waitFor(() => i >= 20 && control.stats().ticks >= 50, 'frames and ticks');
    const from = commands.length;
    await waitFor(() => commands.length >= from + 20, 'twenty more ticks');
    expect(commands.slice(from).every((c) => !c.safe)).toBe(moves);
    expect(commands.slice(from).every((c) => c.safe)).toBe(!moves);
  });

  it('refuses a frame whose stamp repeats the last one', async () => {
    const { control, commands, camera } = await stampedLoop('mean-stamp-repeat');
    // Sim time (another clock than the daemon's): its age counts from arrival, and it must move forward.
    const replayed = rawAt(12_500_000_000n);
    every(20, () => camera.publish(replayed));
    await waitFor(() => control.stats().observationErrors >= 10, 'the repeats refused');
    // The first was taken; once it is older than max_observation_age_ms, nothing fresh is left.
    await waitFor(() => commands.slice(-3).every((c) => c.safe), 'the safe action');
    const from = commands.length;
    await waitFor(() => commands.length >= from + 20, 'twenty more ticks');
    expect(commands.slice(from).every((c) => c.safe)).toBe(true);
  });
});

describe('a camera whose stamp jumped', () => {
  const wallSec = () => Math.floor(Date.now() / 1000);

  /** The loop's last ten commands came from the camera's frames, not its safe action. */
  const seen = (commands: { safe: boolean }[]) => commands.length >= 10 && commands.slice(-10).every((c) => !c.safe);

  it.each([
    ['a frame stamped 10 years ahead', () => rawAt(wallNs() + 10n * 365n * 86_400n * S)],
    ['a frame stamped 23 h ahead', () => rawAt(wallNs() + 23n * 3600n * S)],
    ['a frame stamped 60 s ahead', () => rawAt(wallNs() + 60n * S)],
    ['a frame stamped sec 2^31-1', () => rawStamped({ sec: 2 ** 31 - 1, nanosec: 0 })],
    ['a frame stamped nanosec 4294967295', () => rawStamped({ sec: wallSec(), nanosec: 4_294_967_295 })],
  ] as const)('is not blinded by %s: it is refused, and the frames after it are seen', async (_what, jumped) => {
    const { control, commands, camera } = await stampedLoop('mean-stamp-jump');
    let sent = 0;
    every(20, () => void (camera.publish(rawAt(wallNs())), sent++));
    await waitFor(() => seen(commands), 'the camera seen');
    camera.publish(jumped());
    await waitFor(() => control.stats().observationErrors >= 1, 'the frame that jumped refused');
    // Past max_observation_age_ms of frames after it: a frame it let through would be stale by now.
    const mark = sent;
    await waitFor(() => sent >= mark + 30 && seen(commands), 'the camera seen after it');
    expect(control.stats().observationErrors, 'only the frame that jumped is refused').toBe(1);
  });

  it('goes on by itself after a sim clock reset from 1000 s to 5 s', async () => {
    const { control, commands, camera } = await stampedLoop('mean-stamp-reset');
    let simNs = 1000n * S;
    let sent = 0;
    every(20, () => void (camera.publish(rawAt((simNs += 20_000_000n))), sent++));
    await waitFor(() => seen(commands), 'the camera seen');
    simNs = 5n * S;
    await waitFor(() => control.stats().observationErrors >= 1, 'the first frame after the reset refused');
    const mark = sent;
    await waitFor(() => sent >= mark + 30 && seen(commands), 'the camera seen after the reset');
    expect(control.stats().observationErrors, `only the first ${STEP_BACK_FRAMES - 1} after it are refused`).toBe(
      STEP_BACK_FRAMES - 1,
    );
  });
});

describe('a flood of hostile frames on one camera', () => {
  // The flooded camera's frames decode in the nice-19 process, restarted after each PNG it abandons: with the cores
  // held by other work (test:stress), each start takes seconds.
  it(
    'costs only that camera: a good camera on another loop stays fresh, the stop holds, its release answers, and an inference query with a good frame is answered',
    { timeout: 240_000 },
    async () => {
      const { fresh, stats, camera, post, stop } = await startCameraDaemon({
        dir: tmp.path,
        // Its budget is 1 ms: each 4096 x 4096 PNG of the flood runs past it and is abandoned.
        loops: { flooded: { decode_timeout_ms: 1 }, good: {} },
        served: ['served'],
      });
      cleanups.push(stop);
      const good = camera('good');
      every(33, () => good.publish(goodFrame));
      await waitFor(() => allFresh(fresh.good!, 10), 'the good camera fresh');

      const flooded = camera('flooded', COMPRESSED);
      const svg = codec.encode(COMPRESSED, { format: 'jpeg', data: svgBomb() });
      const png = codec.encode(COMPRESSED, { format: 'png', data: await costlyPng() });
      every(50, () => flooded.publish(svg));
      every(100, () => flooded.publish(png));
      await waitFor(
        () => stats('flooded').decodesAbandoned >= 2 && stats('flooded').observationErrors >= 10,
        'the flood refused: SVGs as bad_encoding, PNGs abandoned past their budget',
        120_000,
      ).catch((error: unknown) => {
        throw new Error(`${String(error)}: the flooded loop's ${JSON.stringify(stats('flooded'))}`, { cause: error });
      });
      const during = fresh.good!.length;
      await waitFor(() => fresh.good!.length >= during + 25, 'the good loop ticking on');
      // Fresh throughout: the good camera's frames are decoded in a process of their own.
      expect(fresh.good!.slice(during).every(Boolean)).toBe(true);

      const query = (format: string, data: Uint8Array) =>
        post('/inference/vla/served', { input: { [FRONT]: { format, data: Buffer.from(data).toString('base64') } } });
      const [svgReply, goodReply] = await Promise.all([query('jpeg', svgBomb()), query('jpeg', await noiseJpeg())]);
      expect(svgReply).toMatchObject({ status: 400, body: { error: 'bad_encoding' } });
      expect(String(svgReply.body.message)).toContain('is an SVG or other XML; only the declared format is decoded');
      expect(goodReply.status, JSON.stringify(goodReply.body)).toBe(200);
      // Every hostile frame over HTTP: 400 with its code.
      for (const { name, format, data, code } of await hostileFrames()) {
        const reply = await query(format, data);
        expect([name, reply.status, reply.body.error]).toEqual([name, 400, code]);
      }

      expect(await post('/stop', { by: 'ada', reason: 'flood' })).toMatchObject({ status: 200 });
      const stoppedAt = fresh.good!.length;
      await waitFor(
        () => fresh.good!.length >= stoppedAt + 10 && !fresh.good!.at(-1),
        'the good loop holding its safe action',
      );
      expect(await post('/stop/release', {})).toMatchObject({ status: 200, body: { released: true } });
      expect(stats('flooded').alive && stats('good').alive).toBe(true);
    },
  );
});
