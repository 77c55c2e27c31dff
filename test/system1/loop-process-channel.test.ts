// isolated: mocks node:child_process, to see what crosses a loop process's fork channel (vitest.config.ts)
// A loop in a process of its own (isolation: process) gets its observations and camera frames through files of its
// tmpfs folder, which the daemon writes and the process maps, and sends its commands down a pipe of their own: its
// fork channel carries none of them (seen here by wrapping fork's child).
import type * as ChildProcesses from 'node:child_process';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { loopHarness } from './loop-harness.ts';
import { writeLinearModel } from './models.ts';
import { writeChannelMeanModel } from './vision-models.ts';

/**
 * Every message the daemon's side sent a loop process over its fork channel, and got from one (a camera's decode
 * process, frame-decoder.ts, is sent frames to decode: that is its job, and not the loop's channel).
 */
const { sent, received } = vi.hoisted(() => ({ sent: [] as { kind: string }[], received: [] as { kind: string }[] }));
vi.mock('node:child_process', async (importOriginal) => {
  const original = await importOriginal<typeof ChildProcesses>();
  const fork = ((...args: Parameters<typeof original.fork>) => {
    const child = original.fork(...args);
    if (!String(args[0]).includes('loop-process-child')) return child;
    const send = child.send.bind(child) as (m: unknown) => boolean;
    child.send = ((m: { kind: string }) => (sent.push(m), send(m))) as typeof child.send;
    const emit = child.emit.bind(child) as (event: string, ...args: unknown[]) => boolean;
    child.emit = ((event: string, ...rest: unknown[]) => {
      if (event === 'message') received.push(rest[0] as { kind: string });
      return emit(event, ...rest);
    }) as typeof child.emit;
    return child;
  }) as typeof original.fork;
  return { ...original, fork, default: { ...original, fork } };
});

const tmp = tempDir('loop-process-channel-');
afterAll(() => tmp.cleanup());
const codec = new MessageCodec(new DefinitionsRegistry());
const IMAGE = 'sensor_msgs/msg/Image';
const WIDTH = 64;
const HEIGHT = 48;

function rawFrame(encoding: string, px: number[]): Uint8Array {
  const data = new Uint8Array(WIDTH * HEIGHT * px.length);
  for (let i = 0; i < data.length; i++) data[i] = px[i % px.length]!;
  return codec.encode(IMAGE, {
    height: HEIGHT,
    width: WIDTH,
    encoding,
    is_bigendian: 0,
    step: WIDTH * px.length,
    data,
  });
}

/** The bytes of every typed array or buffer in `value`, however deep. */
function viewBytes(value: unknown, seen = new Set<unknown>()): number[] {
  if (ArrayBuffer.isView(value)) return [value.byteLength];
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return [value.byteLength];
  if (typeof value !== 'object' || value === null || seen.has(value)) return [];
  seen.add(value);
  return Object.values(value).flatMap((v) => viewBytes(v, seen));
}

const close = (a: number[], b: number[], tolerance = 0.02) =>
  a.length === b.length && a.every((v, i) => Math.abs(v - b[i]!) <= tolerance);

describe.runIf(process.platform === 'linux')('a control loop with isolation: process', () => {
  it("runs on the bus's latest observation and publishes its commands, none of either on the fork channel", async () => {
    sent.length = 0;
    received.length = 0;
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    const { bus, control, commands, published, publishing } = loopHarness(model, {
      rate_hz: 100,
      isolation: 'process',
      scheduling: 'other',
      max_observation_age_ms: 300,
    });
    await control.start();
    try {
      // The action is the observation: each new one the process's loop reads is what it sends.
      for (const obs of [
        [0.5, -0.25],
        [2, 3],
      ]) {
        const stop = publishing(obs);
        try {
          await waitFor(() => commands.some((c) => !c.safe && close(c.values, obs, 1e-6)), `the action ${obs}`);
        } finally {
          stop();
        }
      }
      const mark = commands.length;
      await waitFor(() => commands.slice(mark).some((c) => c.safe), 'the safe action once /obs is stale');
      expect(published.length).toBeGreaterThan(0);
      expect(published.some((p) => close(p, [2, 3], 1e-6))).toBe(true);
    } finally {
      await control.close();
      bus.close();
    }
    expect(sent.some((m) => m.kind === 'start')).toBe(true);
    expect(sent.filter((m) => m.kind === 'observation')).toEqual([]);
    expect(received.some((m) => m.kind === 'state')).toBe(true);
    expect(received.filter((m) => m.kind === 'command')).toEqual([]);
  });

  it('runs a vision policy on each new frame, holds the safe action on bad frames and a stale camera, and sends no frame over the fork channel', async () => {
    sent.length = 0;
    const model = writeChannelMeanModel(tmp.path, 'mean-process', { height: HEIGHT, width: WIDTH, output: 'actions' });
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 100, isolation: 'process', scheduling: 'other', max_observation_age_ms: 300, safe_action: [-1, -1] },
      { inputs: { 'observation.images.front': { image: { topic: '/camera/image_raw' } } } },
    );
    await control.start();
    try {
      const { tid } = control.stats();
      expect(tid).toBeGreaterThan(0);
      await waitFor(
        () => commands.some((c) => c.safe && close(c.values, [-1, -1])),
        'the safe action before any frame',
      );
      const camera = bus.advertise('/camera/image_raw', IMAGE, { source: 'test' });
      const sendUntil = async (data: Uint8Array, want: number[], what: string) => {
        const timer = setInterval(() => camera.publish(data), 20);
        try {
          await waitFor(() => commands.some((c) => !c.safe && close(c.values, want)), what);
        } finally {
          clearInterval(timer);
        }
      };
      // The action is [mean R, mean B] of what the loop process read: each new frame changes it.
      await sendUntil(rawFrame('rgb8', [255, 0, 51]), [1, 0.2], 'rgb8 [255, 0, 51] as [1, 0.2]');
      await sendUntil(rawFrame('rgb8', [0, 255, 153]), [0, 0.6], 'the next frame, [0, 255, 153] as [0, 0.6]');
      await sendUntil(rawFrame('mono8', [102]), [0.4, 0.4], 'mono8 as grey');
      // Only bad frames from now on (fewer bytes than their size says): each is counted, none reaches the file, and
      // the last good frame grows old there, past max_observation_age_ms: the process's loop holds its safe action.
      const errorsBefore = control.stats().observationErrors;
      const bad = codec.encode(IMAGE, {
        height: HEIGHT,
        width: WIDTH,
        encoding: 'rgb8',
        is_bigendian: 0,
        step: WIDTH * 3,
        data: new Uint8Array(10),
      });
      const badTimer = setInterval(() => camera.publish(bad), 20);
      try {
        const stoppedAt = performance.now();
        await waitFor(
          () =>
            performance.now() - stoppedAt > 600 && commands.slice(-3).every((c) => c.safe && close(c.values, [-1, -1])),
          'the safe action once the last good frame is older than 300 ms',
        );
        const at = commands.length;
        await waitFor(() => commands.length >= at + 10, 'ten more ticks');
        expect(commands.slice(at).every((c) => c.safe)).toBe(true);
        expect(control.stats().observationErrors).toBeGreaterThan(errorsBefore);
        expect(control.stats().staleTicks).toBeGreaterThan(0);
      } finally {
        clearInterval(badTimer);
      }
      camera.close();
    } finally {
      await control.close();
      bus.close();
    }
    // What went to the process over its channel: the start and the control words, never a frame's bytes.
    const messages = sent;
    expect(messages.some((m) => m.kind === 'start')).toBe(true);
    const frameBytes = WIDTH * HEIGHT * 3;
    const largest = Math.max(0, ...messages.flatMap((m) => viewBytes(m)));
    expect(largest).toBeLessThan(frameBytes);
    expect(messages.every((m) => ['start', 'held', 'stop', 'ping'].includes(m.kind))).toBe(true);
  });
});
