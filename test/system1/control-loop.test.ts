import { afterAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.ts';
import { readThreadScheduling } from '../../daemon/util/thread-scheduling.ts';
import { tempDir } from '../helpers/cli.ts';
import { loopHarness } from './loop-harness.ts';
import { writeChunkModel, writeLinearModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('ControlLoop (worker thread)', () => {
  it.runIf(process.platform === 'linux')(
    "sets the loop thread's scheduling and CPU as configured and reports what the kernel applied",
    async () => {
      const model = writeLinearModel(tmp.path, 'sched', [1, 0, 0, 1], [0, 0]);
      const cpu = Number.parseInt(readThreadScheduling(process.pid).cpus, 10); // one this process may use
      const { bus, control } = loopHarness(model, { rate_hz: 50, scheduling: 'other', nice: 2, cpu_affinity: [cpu] });
      await control.start();
      try {
        const { scheduling, tid } = control.stats();
        expect(scheduling).toBe(`SCHED_OTHER nice 2 on CPU ${cpu}`);
        expect(tid).not.toBe(process.pid);
        expect(readThreadScheduling(tid)).toMatchObject({ policy: 'other', nice: 2, cpus: String(cpu) });
      } finally {
        await control.close();
        bus.close();
      }
    },
  );

  it('sends the safe action while the observation is missing or stale, counts it, and the policy action while fresh', async () => {
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    // An age limit far above the 10 ms publishing interval: a loaded machine must not make fresh data stale.
    const { bus, control, commands, published, publishing } = loopHarness(model, {
      rate_hz: 100,
      max_observation_age_ms: 500,
      safe_action: [-7, -7],
    });
    await control.start();
    await waitFor(() => commands.some((c) => c.safe), 'a safe command');
    expect(commands[0]).toEqual({ values: [-7, -7], safe: true });
    const staleBefore = control.stats().staleTicks;
    expect(staleBefore).toBeGreaterThan(0);

    const stopPublishing = publishing([1.5, -2]);
    await waitFor(() => commands.some((c) => !c.safe), 'a policy command');
    expect(commands.find((c) => !c.safe)!.values).toEqual([1.5, -2]);
    stopPublishing();

    const afterFresh = commands.length;
    await waitFor(() => commands.slice(afterFresh).some((c) => c.safe), 'the safe action again');
    expect(control.alive()).toBe(true);
    await control.close();
    expect(control.alive()).toBe(false);
    // Counters compared once the worker has stopped, so no tick lands between two reads.
    const stats = control.stats();
    expect(stats.staleTicks).toBeGreaterThan(staleBefore);
    expect(stats.staleBySource[0]).toBe(stats.staleTicks);
    expect(stats.topics).toEqual(['/obs']);
    expect(stats.latency.count).toBe(stats.ticks);
    expect(published).toContainEqual([1.5, -2]);

    // The last command on the way out is the safe one.
    expect(commands.at(-1)).toEqual({ values: [-7, -7], safe: true });
    bus.close();
  });

  it('runs a chunk policy asynchronously with LeRobot semantics: chunks merge, underruns are counted', async () => {
    const model = writeChunkModel(tmp.path, 4);
    const { bus, control, commands, publishing } = loopHarness(model, {
      rate_hz: 100,
      max_observation_age_ms: 200,
      on_underrun: 'skip',
    });
    const stopPublishing = publishing([1, -1]);
    await control.start();
    expect(control.stats().mode).toBe('async');
    expect(control.stats().chunkSize).toBe(4);
    await waitFor(() => control.stats().chunks >= 5, 'several chunks');
    stopPublishing();
    await control.close();
    const acted = commands.filter((c) => !c.safe);
    expect(acted.length).toBeGreaterThan(0);
    // Every action is k * [1, -1] for k in 1..4, or a 0.3/0.7 blend of two such: it stays on that line.
    for (const c of acted) {
      expect(c.values[1]).toBeCloseTo(-c.values[0]!, 5);
      expect(c.values[0]).toBeGreaterThanOrEqual(1 - 1e-6);
      expect(c.values[0]).toBeLessThanOrEqual(4 + 1e-6);
    }
    expect(control.stats().underruns).toBeGreaterThan(0); // at least the first tick, before any chunk
    bus.close();
  });

  it('fails to start with the reason when the model is missing or the manifest is wrong', async () => {
    const missing = loopHarness(`${tmp.path}/none.onnx`, {});
    await expect(missing.control.start()).rejects.toThrow(/cannot read ONNX model .*none\.onnx/);
    missing.bus.close();
    const model = writeLinearModel(tmp.path, 'three', [1, 0, 0, 0, 1, 0], [0, 0]);
    const wrong = loopHarness(model, { safe_action: [1, 2, 3] });
    await expect(wrong.control.start()).rejects.toThrow(/safe_action has 3 values/);
    wrong.bus.close();
  });
});
