import { readFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlComponent } from '../../daemon/system1/control/control-component.ts';
import { HaltLine } from '../../daemon/halt/halt-line.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { controlContext } from './control-component-harness.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeChunkModel, writeLinearModel } from './models.ts';
import { errorText } from '../../daemon/util/index.ts';

// control.loops.<name>.isolation: process runs the loop in a child process of its own. What the daemon's main thread
// does (here: a busy-wait) delays neither its ticks nor a stop from another thread; a killed process restarts.

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/** Keeps this (the main) thread busy for `ms`, as a stalled daemon would be: no event, no message runs meanwhile. */
function block(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

/** Resolves once `list` grows past `length`: within a millisecond of the batch that made it grow. */
function grown(list: unknown[], length: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => list.length > length && (clearInterval(timer), resolve()), 1);
  });
}

/** The process a thread belongs to (Linux thread ids are unique across processes). */
const processOf = (tid: number): number =>
  Number(/^Tgid:\s*(\d+)$/m.exec(readFileSync(`/proc/${tid}/status`, 'utf8'))![1]);

/** Counts a stop on `line` from another thread after `ms`, as the stop listener's thread does. */
function stopFromAnotherThread(line: HaltLine, ms: number): Worker {
  const code = `
    const { workerData } = require('node:worker_threads');
    setTimeout(() => {
      const words = new Int32Array(workerData);
      ${/* HaltLine.haltedOffLoop: one pending stop, then the count, notified */ ''}
      Atomics.add(words, 2, 1);
      Atomics.add(words, 0, 1);
      Atomics.notify(words, 0);
    }, ${ms});`;
  return new Worker(code, { eval: true, workerData: line.buffer });
}

describe.runIf(process.platform === 'linux')('a control loop with isolation: process', () => {
  it('ticks in a process of its own while the main thread is blocked; its commands arrive after', async () => {
    const model = writeLinearModel(tmp.path, 'busy', [1, 0, 0, 1], [0, 0]);
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 50, isolation: 'process', scheduling: 'other' },
      { inputs: CONSTANT_OBS },
    );
    await control.start();
    try {
      const { tid, scheduling } = control.stats();
      expect(processOf(tid)).not.toBe(process.pid);
      expect(scheduling).toMatch(/; process \d+: SCHED_OTHER/);
      await waitFor(() => commands.length > 0, 'a first command');
      const before = commands.length;
      block(1000);
      const atUnblock = commands.length;
      await grown(commands, atUnblock);
      // Nothing arrived while this thread was blocked; what the loop sent meanwhile (about 50 ticks) comes at once.
      expect(atUnblock).toBe(before);
      expect(commands.length - atUnblock).toBeGreaterThanOrEqual(10);
      expect(commands.slice(before).every((c) => !c.safe && c.values[0] === 1 && c.values[1] === -1)).toBe(true);
    } finally {
      await control.close();
      bus.close();
    }
  });

  it('holds its commands at the safe action on a stop counted off the main thread, while that thread is blocked', async () => {
    const model = writeLinearModel(tmp.path, 'held', [1, 0, 0, 1], [0, 0]);
    const line = new HaltLine();
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 50, isolation: 'process', scheduling: 'other' },
      // No refusal: the main thread holds nothing back, so what the process sends is what arrives.
      { inputs: CONSTANT_OBS, haltLine: line.buffer },
    );
    await control.start();
    const stopper = stopFromAnotherThread(line, 200);
    try {
      await waitFor(() => commands.length > 0, 'a first command');
      const before = commands.length;
      block(1000);
      await grown(commands, before);
      const during = commands.slice(before);
      expect(line.holds).toBe(true);
      // The policy's action before the stop, its safe action from the stop on: told by the relay, not this thread.
      const first = during.findIndex((c) => c.safe);
      expect(first).toBeGreaterThan(0);
      expect(during.slice(0, first).every((c) => !c.safe)).toBe(true);
      expect(during.slice(first).every((c) => c.safe && c.values[0] === 0 && c.values[1] === 0)).toBe(true);
      // Written while this thread was blocked (the first read after it): the process switched by itself. How many
      // depends on the CPU the process got (a full run on a loaded machine saw 3 of the block's 40 ticks).
      expect(during.length - first).toBeGreaterThanOrEqual(1);
      expect(control.stats().held).toBeGreaterThan(0);
    } finally {
      await stopper.terminate();
      await control.close();
      bus.close();
    }
  });

  it("takes the bus's observations and runs an async chunk policy's inference thread in its process", async () => {
    const model = writeChunkModel(tmp.path, 4);
    const { bus, control, commands, publishing } = loopHarness(model, {
      rate_hz: 50,
      isolation: 'process',
      scheduling: 'other',
      max_observation_age_ms: 300,
      on_underrun: 'skip',
    });
    const stopPublishing = publishing([1, -1]);
    await control.start();
    try {
      expect(control.stats()).toMatchObject({ mode: 'async', chunkSize: 4 });
      await waitFor(() => control.stats().chunks >= 5, 'several chunks');
      // Action k of a chunk is the observation times k + 1: what /obs carried, relayed to the process.
      const driven = commands.filter((c) => !c.safe);
      expect(driven.length).toBeGreaterThan(0);
      for (const { values } of driven) {
        expect(values[0]).toBeGreaterThanOrEqual(1);
        expect(values[1]).toBe(-values[0]!);
      }
      stopPublishing();
      const mark = commands.length;
      await waitFor(() => commands.slice(mark).some((c) => c.safe), 'the safe action once /obs is stale');
    } finally {
      stopPublishing();
      await control.close();
      bus.close();
    }
  });

  it('restarts a loop whose process was killed, as a crashed thread', async () => {
    const model = writeLinearModel(tmp.path, 'killed', [1, 0, 0, 1], [0, 0]);
    const { ctx, bus, logs } = controlContext({
      model,
      inputs: CONSTANT_OBS,
      loops: { base: { autostart: true, rate_hz: 50, isolation: 'process', scheduling: 'other' } },
      dataDir: tmp.path,
    });
    const control = new ControlComponent(ctx, { restartDelayMs: 20 });
    await control.start();
    try {
      await waitFor(() => control.loopStats()[0]!.tid > 0, 'the loop to run');
      const first = processOf(control.loopStats()[0]!.tid);
      expect(first).not.toBe(process.pid);
      process.kill(first, 'SIGKILL');
      await waitFor(
        () => control.loopStats()[0]!.restarts === 1 && control.loopsAlive() && control.loopStats()[0]!.tid > 0,
        'the restart',
        30_000,
      );
      const second = processOf(control.loopStats()[0]!.tid);
      expect(second).not.toBe(first);
      expect(second).not.toBe(process.pid);
      expect(logs.some((l) => l.includes('control loop worker crashed') && l.includes('SIGKILL'))).toBe(true);
    } finally {
      await control.close();
      bus.close();
    }
  });

  it('refuses an isolation it does not know, naming the key, and takes a process loop with a camera input', async () => {
    const { componentContext } = await import('../helpers/component-context.ts');
    const policy = {
      model: 'missing.onnx',
      serve: false,
      outputs: { a: { command: { topic: '/j', type: 'std_msgs/msg/Float64MultiArray' } } },
    };
    const refused = (inputs: Record<string, unknown>, isolation: string): string => {
      try {
        componentContext({
          policies: { p: { ...policy, inputs } },
          control: { loops: { l: { policy: 'p', isolation } } },
        });
        return 'accepted';
      } catch (error) {
        return errorText(error);
      }
    };
    expect(refused({}, 'fork')).toMatch(/control\.loops\.l\.isolation/);
    expect(refused({ image: { image: { topic: '/cam' } } }, 'process')).toBe('accepted');
    expect(refused({ image: { image: { topic: '/cam' } } }, 'thread')).toBe('accepted');
  });
});
