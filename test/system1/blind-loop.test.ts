// A control loop that cannot see (its camera topic silent, its frames refused) sends only its safe action: the daemon
// says it is not ready, naming the input and the topic at fault and why, in `status` (exit 3), /readyz and the page,
// and says it is ready again once the loop sees.
import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { sharedChromium } from '../api/chromium.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { writeChannelMeanModel } from './vision-models.ts';

const tmp = tempDir('blind-loop-');
const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(async () => {
  await chromium.close();
  tmp.cleanup();
});

const codec = new MessageCodec(new DefinitionsRegistry());
const IMAGE = 'sensor_msgs/msg/Image';
const FRONT = 'observation.images.front';

const frame = (encoding: string, bytesPerPixel: number) =>
  codec.encode(IMAGE, {
    height: 12,
    width: 16,
    encoding,
    is_bigendian: 0,
    step: 16 * bytesPerPixel,
    data: new Uint8Array(16 * 12 * bytesPerPixel).fill(90),
  });

describe('a blind control loop', () => {
  it('is not ready while its camera is silent or its frames are refused, saying which input, topic and why; ready once it sees', async () => {
    const model = writeChannelMeanModel(tmp.path, 'blind', { height: 12, width: 16, output: 'actions' });
    const { daemon, stop } = await startDaemon(
      {
        sim: { enabled: false },
        foxglove: { enabled: false },
        api: { port: 0 },
        policies: {
          eye: {
            model,
            inputs: { [FRONT]: { image: { topic: '/camera/nope' } } },
            outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
          },
        },
        control: { loops: { eye: { policy: 'eye', rate_hz: 50, max_observation_age_ms: 200, safe_action: [-1, -1] } } },
      },
      'blind-loop-',
    );
    cleanups.push(stop);
    const url = daemon.ports.get(PORTS.api)!.url!;
    const status = () => runMain(['status', '--url', url]);

    // No message at all on its topic.
    const silent = await waitForValue(async () => {
      const s = await status();
      return s.code === 3 && s.stdout.includes('no message in') && s;
    }, 'status to say NOT READY (exit 3)');
    expect(silent.stdout).toContain('readiness: NOT READY');
    expect(silent.stdout).toMatch(
      /control_loops +fail +control degraded: control loop eye is blind \(input observation\.images\.front reads \/camera\/nope: no message in \d+\.\d s\): it sends only its safe action/,
    );
    expect(silent.stdout).toMatch(
      /control loops:\n +loop +ticks +stale +refused +missed +held +p50 ms +p99 ms\n +eye +\d+/,
    );
    expect(silent.stdout).toMatch(
      /\n +BLIND, sending its safe action: input observation\.images\.front reads \/camera\/nope: no message in/,
    );
    const readyz = await fetch(`${url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(JSON.stringify(await readyz.json())).toContain('control loop eye is blind');

    // The page says so too.
    const context = await chromium.context();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${url}/`);
    await expect.poll(() => page.locator('#ready').textContent(), { timeout: 30_000 }).toBe('not ready');
    await expect
      .poll(() => page.locator('#loops tbody tr td').last().textContent(), { timeout: 30_000 })
      .toMatch(/^blind: input observation\.images\.front reads \/camera\/nope: no message in/);

    // Frames in an encoding it cannot decode: each refused, and the reason says so.
    const camera = daemon.bus.advertise('/camera/nope', IMAGE, { source: 'test' });
    const yuv = frame('yuv422', 2);
    let timer = setInterval(() => camera.publish(yuv), 20);
    cleanups.push(() => clearInterval(timer));
    const refused = await waitForValue(async () => {
      const s = await status();
      return s.stdout.includes('messages refused, none taken') && s;
    }, 'status to say the frames are refused');
    expect(refused.code).toBe(3);
    expect(refused.stdout).toMatch(
      /input observation\.images\.front reads \/camera\/nope: \d+ of \d+ messages refused, none taken; last refused: encoding "yuv422" is not decoded/,
    );

    // Good frames: it sees, and the daemon is ready.
    clearInterval(timer);
    const rgb = frame('rgb8', 3);
    timer = setInterval(() => camera.publish(rgb), 20);
    const ready = await waitForValue(async () => {
      const s = await status();
      return s.code === 0 && s;
    }, 'status to say ready (exit 0)');
    expect(ready.stdout).toContain('readiness: ready');
    expect(ready.stdout).not.toContain('BLIND');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    await waitFor(async () => (await page.locator('#ready').textContent()) === 'ready', 'the page to say ready');
  });
});
