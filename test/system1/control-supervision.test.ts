import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { ControlComponent, type LoopHandle } from '../../daemon/system1/control/control-component.ts';
import type { ControlLoopOptions, ControlLoopStats } from '../../daemon/system1/control/control-loop.ts';
import { LoopState } from '../../daemon/system1/control/loop-state.ts';
import { tempDir } from '../helpers/cli.ts';
import { controlContext } from './control-component-harness.ts';
import { writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

function context(loops: Record<string, { autostart: boolean }>) {
  const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
  const inputs = { obs: { sources: [{ topic: '/obs', field: 'data' }] } };
  return controlContext({
    model,
    inputs,
    loops: Object.fromEntries(Object.entries(loops).map(([n, l]) => [n, { rate_hz: 50, ...l }])),
    dataDir: tmp.path,
  });
}

/**
 * A loop double whose worker "crashes" on demand: it reports through onCrash as a dead worker does, and stops being
 * alive.
 */
class CrashingLoop implements LoopHandle {
  readonly name: string;
  readonly options: ControlLoopOptions;
  starting = false;
  #alive = false;
  constructor(options: ControlLoopOptions) {
    this.name = options.name;
    this.options = options;
  }
  async start(): Promise<void> {
    this.#alive = true;
  }
  async close(): Promise<void> {
    this.#alive = false;
  }
  alive(): boolean {
    return this.#alive;
  }
  crash(): void {
    this.#alive = false;
    this.options.onCrash?.(new Error('worker exited with code 1'));
  }
  stats(): ControlLoopStats {
    return {
      ...new LoopState(0).snapshot(),
      name: this.name,
      policy: 'p',
      rateHz: 50,
      mode: 'step',
      scheduling: 'SCHED_OTHER nice 0',
      tid: 0,
      chunkSize: 1,
      topics: [],
      observationErrors: 0,
      decodesAbandoned: 0,
      measuredTaken: 0,
      observations: [],
      alive: this.#alive,
      starting: this.starting,
    };
  }
}

describe('ControlComponent supervision', () => {
  it('leaves an on-demand loop that is still starting out of loopsAlive, so the watchdog keeps going', async () => {
    const { ctx, bus } = context({ arm: { autostart: false } });
    const control = new ControlComponent(ctx);
    await control.start();
    const aborter = new AbortController();
    const run = control.runPolicy('arm', { seconds: 30, signal: aborter.signal });
    // The worker thread and its ONNX session are loading now.
    expect(control.loopStats()[0]!.starting).toBe(true);
    expect(control.loopsAlive()).toBe(true);
    expect(control.health()).toMatchObject({ state: 'running', alive: true });
    await waitFor(() => !control.loopStats()[0]!.starting, 'the loop to be ready');
    // Ready but perhaps not ticked yet: alive from its start.
    expect(control.loopsAlive()).toBe(true);
    aborter.abort();
    expect((await run).message).toMatch(/cancelled/);
    await control.close();
    bus.close();
  });

  it('restarts a crashed autostart loop with a growing delay, counts and logs each restart, and stops restarting on stop', async () => {
    const { ctx, bus, logs } = context({ base: { autostart: true } });
    const created: CrashingLoop[] = [];
    const control = new ControlComponent(ctx, {
      createLoop: (o) => {
        const loop = new CrashingLoop(o);
        created.push(loop);
        return loop;
      },
      restartDelayMs: 20,
      maxRestartDelayMs: 1000,
    });
    await control.start();
    expect(control.loopsAlive()).toBe(true);

    created[0]!.crash();
    expect(control.loopsAlive()).toBe(false); // dead until the restart: the watchdog pauses
    expect(control.health()).toMatchObject({ state: 'degraded', alive: false });
    await waitFor(() => created.length === 2 && control.loopsAlive(), 'the first restart');
    expect(control.loopStats()[0]!.restarts).toBe(1);

    created[1]!.crash();
    await waitFor(() => created.length === 3 && control.loopsAlive(), 'the second restart');
    // A second crash in a row waits twice as long.
    const delays = logs
      .map((l) => JSON.parse(l) as { msg: string; restart_in_ms?: number })
      .filter((l) => l.msg.includes('crashed'))
      .map((l) => l.restart_in_ms);
    expect(delays).toEqual([20, 40]);
    const metric = control.metrics().find((f) => f.name === 'auraison_control_loop_restarts_total')!;
    expect(metric.samples).toEqual([{ labels: { loop: 'base' }, value: 2 }]);
    expect((control.health().details as Record<string, { restarts: number }>).base!.restarts).toBe(2);
    expect(logs.filter((l) => l.includes('control loop worker crashed')).length).toBe(2);
    expect(logs.filter((l) => l.includes('control loop restarted')).length).toBe(2);

    created[2]!.crash();
    await control.close();
    // Nothing to wait on for a restart that must not come: wait out the delay that crash logged for it. A timer
    // of the same length set later fires after the restart's, so a restart the stop failed to cancel lands first.
    const restartInMs = (
      JSON.parse(logs.findLast((l) => l.includes('control loop worker crashed'))!) as { restart_in_ms: number }
    ).restart_in_ms;
    // The restart's own delay: a timer of that length set later fires after the restart's.
    // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
    await new Promise((r) => setTimeout(r, restartInMs));
    expect(created.length).toBe(3);
    bus.close();
  });
});
