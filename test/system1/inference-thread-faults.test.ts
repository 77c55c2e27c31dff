import { afterAll, describe, expect, it } from 'vitest';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';
import { ControlLoop, LoopCrash } from '../../daemon/system1/control/control-loop.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { controlContext } from './control-component-harness.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeChunkModel, writeSlowChunkModel } from './models.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// An async chunking loop runs its policy in an inference thread. Before, a death of that thread (an
// uncaught error, an exit) went unnoticed: the loop ticked on, every tick an underrun (with the default
// on_underrun: skip, the robot got nothing at all), no error, no health change, no restart. A hang was
// as silent. The stand-in inference-death-worker.ts runs the real inference worker and dies on cue.

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const cleanups = cleanupStack();
const dying = (query: string) => new URL(`./inference-death-worker.ts?${query}`, import.meta.url);

/** A real async loop on chunk4.onnx whose inference thread dies as `query` says; crashes are collected. */
async function dyingLoop(query: string) {
  const crashes: Error[] = [];
  const h = loopHarness(
    writeChunkModel(tmp.path, 4),
    { rate_hz: 100 },
    { inputs: CONSTANT_OBS, inferenceWorker: dying(query), onCrash: (e) => void crashes.push(e) },
  );
  cleanups.push(async () => {
    await h.control.close();
    h.bus.close();
  });
  await h.control.start();
  return { ...h, crashes };
}

describe('an async loop whose inference thread dies', () => {
  it('reports an uncaught error as a crash of the inference thread, with its message, and sends the safe action until restarted', async () => {
    const { control, commands, crashes } = await dyingLoop('die=throw&on=2');
    expect(control.stats().mode).toBe('async');
    await waitFor(() => crashes.length > 0, 'the crash report', 30_000);
    const crash = crashes[0]!;
    expect(crash).toBeInstanceOf(LoopCrash);
    expect(crash).toMatchObject({ thread: 'inference' });
    expect(crash.message).toBe('inference thread died: injected fault in the inference thread');
    // The first observation's chunk ran; then the loop frame goes on ticking (alive, for the watchdog) and,
    // with on_underrun: skip, sends the safe action rather than nothing.
    expect(commands.some((c) => !c.safe)).toBe(true);
    const atCrash = commands.length;
    await waitFor(() => commands.slice(atCrash).some((c) => c.safe), 'safe actions after the crash', 30_000);
    // Every tick from then on (actions of the last chunk may still have been in flight at the crash).
    const mark = commands.length;
    await waitFor(() => commands.length >= mark + 5, 'more ticks', 30_000);
    expect(commands.slice(mark).every((c) => c.safe)).toBe(true);
    expect(control.alive()).toBe(true);
    expect(control.stats().fault).toBe(crash.message);
    expect(crashes).toHaveLength(1);
    await control.close();
    expect(commands.at(-1)).toEqual({ values: [0, 0], safe: true });
  });

  it('reports an exit with its code', async () => {
    // On the second request: an exit on the first could come while the start still waits for the loop's ready, and
    // fail the start instead (seen on a loaded machine).
    const { crashes } = await dyingLoop('die=exit&on=2');
    await waitFor(() => crashes.length > 0, 'the crash report', 30_000);
    expect(crashes[0]!.message).toBe('inference thread exited with code 3');
  });

  it('fails the start when the inference thread dies while loading, rather than waiting for it forever', async () => {
    for (const [query, message] of [
      ['die=exit&on=load', /control loop test: the inference thread exited with code 3 before its model was loaded/],
      ['die=throw&on=load', /control loop test: the inference thread failed while loading: injected fault/],
    ] as const) {
      const h = loopHarness(
        writeChunkModel(tmp.path, 4),
        { rate_hz: 100 },
        { inputs: CONSTANT_OBS, inferenceWorker: dying(query) },
      );
      await expect(h.control.start()).rejects.toThrow(message);
      expect(h.control.starting).toBe(false);
      await h.control.close();
      h.bus.close();
    }
  });

  it('ends a start that a stop overtook while the inference thread was loading, rather than running the loop after it', async () => {
    const h = loopHarness(writeChunkModel(tmp.path, 4), { rate_hz: 100 }, { inputs: CONSTANT_OBS });
    const starting = h.control.start(); // now loading the model in the inference thread
    await h.control.close();
    await expect(starting).rejects.toThrow('control loop test: stopped while starting');
    expect(h.control.stats().ticks).toBe(0);
    h.bus.close();
  });
});

function context(loop: Record<string, unknown>, model: string) {
  const { ctx, bus, logs } = controlContext({
    model,
    inputs: CONSTANT_OBS,
    loops: { arm: { rate_hz: 100, ...loop } },
    dataDir: tmp.path,
  });
  cleanups.push(() => bus.close());
  return { ctx, logs };
}

type LoopDetails = {
  restarts: number;
  crashes: { loop: number; inference: number };
  last_crash?: string;
  fault?: string;
  inference_overdue: number;
};

describe('the control component', () => {
  it('restarts a loop whose inference thread died, and says why in health, logs and metrics', async () => {
    const { ctx, logs } = context({}, writeChunkModel(tmp.path, 4));
    const control = new ControlComponent(ctx, {
      createLoop: (o) => new ControlLoop({ ...o, inferenceWorker: dying('die=throw&on=2') }),
      restartDelayMs: 20,
      maxRestartDelayMs: 200,
    });
    cleanups.push(() => control.close());
    await control.start();
    const details = () => (control.health().details as Record<string, LoopDetails>).arm!;
    await waitFor(() => control.loopStats()[0]!.restarts >= 1, 'a restart after the inference thread died', 30_000);
    expect(details().last_crash).toBe('inference thread died: injected fault in the inference thread');
    expect(details().crashes.inference).toBeGreaterThanOrEqual(1);
    expect(details().crashes.loop).toBe(0);
    const crashed = logs
      .map((l) => JSON.parse(l) as { msg: string; err?: string })
      .find((l) => l.msg.includes('control loop worker crashed'));
    expect(crashed?.err).toBe('inference thread died: injected fault in the inference thread');
    const metric = control.metrics().find((f) => f.name === 'auraison_control_loop_crashes_total')!;
    expect(metric.samples.find((s) => s.labels?.thread === 'inference')!.value).toBeGreaterThanOrEqual(1);
    // Until its restart the loop still ticks and sends the safe action: degraded, but alive for the watchdog.
    await waitFor(
      () => {
        const h = control.health();
        return (
          h.state === 'degraded' && h.alive === true && /control loop arm: inference thread died/.test(h.reason ?? '')
        );
      },
      'health naming the dead inference thread',
      30_000,
    );
  });

  it('reports an overdue inference (degraded, counted, logged) while the robot gets the safe action, and recovers when the chunk comes', async () => {
    // A run of a few hundred ms (over a second on a loaded 2-core host) against a 20 ms bound; a
    // 1000-action chunk lasts 10 s at 100 Hz, so after it arrives no chunk is awaited for 5 s: health is
    // `running` long enough to be seen however slow the next inference is.
    const { ctx, logs } = context(
      { on_underrun: 'safe', chunking: { inference_timeout_ms: 20 } },
      writeSlowChunkModel(tmp.path, 1000),
    );
    const control = new ControlComponent(ctx);
    cleanups.push(() => control.close());
    await control.start();
    await waitFor(
      () => {
        const h = control.health();
        return (
          h.state === 'degraded' &&
          h.alive === true &&
          /control loop arm: inference overdue: no chunk for \d+ ms \(chunking\.inference_timeout_ms: 20\)/.test(
            h.reason ?? '',
          )
        );
      },
      'health saying the inference is overdue',
      30_000,
    );
    const stats = () => control.loopStats()[0]!;
    await waitFor(
      () => stats().inferenceOverdue >= 1,
      "the overdue request counted (at the loop thread's next tick)",
      30_000,
    );
    expect(stats().restarts).toBe(0);
    await waitFor(
      () => stats().chunks >= 1 && control.health().state === 'running',
      'the late chunk, and health running again',
      30_000,
    );
    const lines = () => logs.map((l) => JSON.parse(l) as { msg: string; limit_ms?: number; took_ms?: number });
    expect(lines().find((l) => l.msg.startsWith('inference overdue'))?.limit_ms).toBe(20);
    // The loop thread's report of the late chunk is logged as the main thread reads it, apart from the health above.
    const back = await waitForValue(
      () => lines().find((l) => l.msg === 'overdue inference came back'),
      'the log line of the late chunk',
    );
    expect(back.took_ms).toBeGreaterThan(20);
    const overdue = control.metrics().find((f) => f.name === 'auraison_control_loop_inference_overdue_total')!;
    expect(overdue.samples[0]!.value).toBeGreaterThanOrEqual(1);
    // The robot got the safe action meanwhile, from the underruns (the observations are constants, never stale).
    expect(stats().underruns).toBeGreaterThan(0);
    expect(stats().staleTicks).toBe(0);
  });
});
