import pino from 'pino';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ControlLoop } from '../../daemon/system1/control/control-loop.ts';
import type { LoopWorkerMessage } from '../../daemon/system1/control/loop-protocol.ts';
import { LoopReports } from '../../daemon/system1/control/loop-reports.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { loopHarness } from '../system1/loop-harness.ts';
import { policySettings, writeLinearModel } from '../system1/models.ts';

// Months unattended: a control loop in a degraded state (its policy failing every tick, a sensor flickering
// around its age limit, messages that do not fit the policy) must log the first occurrence and then a line
// per window with the count held back, not a line per tick or per message. The window is set past the
// test's length (LOG_WINDOW_MS), so the count of lines for N events does not depend on the machine's speed.

const LOG_WINDOW_MS = 1e9;
const tmp = tempDir();
afterAll(() => tmp.cleanup());
const running: { control: ControlLoop; close: () => void }[] = [];
afterEach(async () => {
  for (const { control, close } of running.splice(0)) {
    await control.close();
    close();
  }
});

/** A loop on the harness's bus whose log lines land in `lines`. */
function loggedLoop(
  model: string,
  loop: Parameters<typeof loopHarness>[1],
  options: Parameters<typeof loopHarness>[2] = {},
) {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: 'info' },
    { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
  );
  const h = loopHarness(
    model,
    { scheduling: 'other', nice: 0, ...loop },
    { log, logIntervalMs: LOG_WINDOW_MS, ...options },
  );
  running.push({ control: h.control, close: () => h.bus.close() });
  const byMsg = (msg: string) => lines.filter((l) => l.msg === msg);
  return { ...h, lines, byMsg };
}

/**
 * Runs `control` until its counter `counter` passes 120, stops it, and checks the lines `lines()` finds: the
 * first occurrence, and on the way out a summary of the rest with their count. Returns them.
 */
async function linesFor(control: ControlLoop, counter: 'errors' | 'nonFinite', lines: () => Record<string, unknown>[]) {
  await control.start();
  // The rate only sets how soon 120 ticks have passed: the lines are counted per tick, not per second.
  await waitFor(() => control.stats()[counter] >= 120, `120 ${counter}`, 30_000);
  await control.close();
  const total = control.stats()[counter];
  const found = lines();
  expect(found).toHaveLength(2);
  expect(found[0]).toMatchObject({ count: 1 });
  expect(found[0]!.suppressed).toBeUndefined();
  expect(found[1]).toMatchObject({ count: total, suppressed: total - 1 });
  return found;
}

describe('control loop log volume', () => {
  it('a tick that fails every time: one line with the details, then the count when the loop stops', async () => {
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    // A scale that makes the command infinite: every tick's command is refused, the tick fails.
    const policy = policySettings({
      model,
      inputs: { obs: { sources: [{ constant: [4, 4] }] } },
      outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray', scale: 1e308 } } },
    });
    const { control, byMsg } = loggedLoop(model, { rate_hz: 1000 }, { policy });
    const failed = await linesFor(control, 'errors', () => byMsg('control loop tick failed: sent the safe action'));
    expect(failed[0]).toMatchObject({ err: expect.stringContaining('makes a command of Infinity') });
  });

  it('a policy action that is never finite: one line with the details, then the count when the loop stops', async () => {
    // Weights of 1e30 on inputs of 1e30 overflow float32: every action is infinite.
    const model = writeLinearModel(tmp.path, 'huge', [1e30, 0, 0, 1e30], [0, 0]);
    const { control, byMsg } = loggedLoop(
      model,
      { rate_hz: 1000 },
      { inputs: { obs: { sources: [{ constant: [1e30, 1e30] }] } } },
    );
    const lines = await linesFor(control, 'nonFinite', () => byMsg('policy action not finite: sent the safe action'));
    expect(lines[0]).toMatchObject({ action: ['Infinity', 'Infinity'] });
  });

  it('an observation that flickers stale and fresh: its first spell, then the count and the state it ended in', async () => {
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    const { control, commands, publishing, byMsg } = loggedLoop(model, { rate_hz: 200, max_observation_age_ms: 100 });
    await control.start();
    // The loop's first ticks see no observation yet (on a loaded machine the loop can start late: published
    // before it, the first spell would be fresh and the line below never come).
    await waitFor(() => byMsg('no observation yet: sending the safe action').length > 0, 'no observation yet');
    const K = 8;
    for (let i = 0; i < K; i++) {
      // Published until the loop acts on it (fresh), then silent until it sends the safe action (stale).
      const mark = commands.length;
      const stop = publishing([1, 2]);
      await waitFor(() => commands.slice(mark).some((c) => !c.safe), `fresh ${i}`, 30_000);
      stop();
      const fresh = commands.length;
      await waitFor(() => commands.slice(fresh).some((c) => c.safe), `stale ${i}`, 30_000);
    }
    await control.close();
    const stale = byMsg('observation stale: sending the safe action');
    const transitions = [
      ...byMsg('no observation yet: sending the safe action'),
      ...byMsg('observation fresh again'),
      ...stale,
    ];
    // The start (none yet, the first spell fresh: outside the window), the first dropout and its end, and on the way
    // out the state it ended in with the count of the rest: K - 1 more stale and K - 2 more fresh transitions (more if
    // a stall of the machine made a spell flicker too). Without the throttle: 2K + 1 lines or more.
    expect(transitions).toHaveLength(5);
    expect(stale).toHaveLength(2);
    expect(stale[1]).toMatchObject({ topic: '/obs', limit_ms: 100 });
    expect(stale[1]!.suppressed).toBeGreaterThanOrEqual(2 * K - 3);
  });

  it('messages that never fit the policy: the first skipped one, not one line per message', async () => {
    const model = writeLinearModel(tmp.path, 'identity', [1, 0, 0, 1], [0, 0]);
    const { control, send, byMsg } = loggedLoop(model, { rate_hz: 50 });
    await control.start();
    const N = 30;
    // Three numbers for an input of two: each message is skipped. One at a time: the loop keeps only the
    // latest message of a topic, so a burst would be one.
    for (let i = 1; i <= N; i++) {
      send([1, 2, 3]);
      await waitFor(
        () => control.stats().observationErrors === i,
        `${i} skipped (${control.stats().observationErrors})`,
        30_000,
      );
    }
    const skipped = byMsg('observation skipped');
    expect(skipped).toHaveLength(1);
    expect(skipped[0]).toMatchObject({ topic: '/obs', count: 1, err: expect.any(String) });
  });
});

describe('LoopReports on a clock the test steps (what a loop thread posts to be logged)', () => {
  it("once a window ends, a summary of what it held back: the last problem with its count, an observation's state now", () => {
    let now = 0;
    const posted: LoopWorkerMessage[] = [];
    const reports = new LoopReports({
      post: (m) => void posted.push(m),
      slots: [{ topic: '/scan', maxAgeMs: 150 }],
      intervalMs: 60_000,
      now: () => now,
    });
    for (let count = 1; count <= 5; count++) reports.problem({ kind: 'error', message: `boom ${count}`, count });
    // The loop's start (none yet, then the first) spends nothing of the window: the first dropout and its end are
    // logged as they come, and the window holds back the next.
    reports.transition(0, true, null);
    reports.transition(0, false, 3);
    reports.transition(0, true, 160);
    reports.transition(0, false, 2);
    reports.transition(0, true, 155);
    reports.transition(0, false, 4);
    reports.transition(0, true, 170);
    expect(posted).toEqual([
      { kind: 'error', message: 'boom 1', count: 1, suppressed: 0 },
      { kind: 'stale', topic: '/scan', ageMs: null, limitMs: 150, suppressed: 0 },
      { kind: 'fresh', topic: '/scan', suppressed: 0 },
      { kind: 'stale', topic: '/scan', ageMs: 160, limitMs: 150, suppressed: 0 },
      { kind: 'fresh', topic: '/scan', suppressed: 0 },
    ]);
    now = 59_999;
    reports.tick();
    expect(posted).toHaveLength(5);
    now = 60_000;
    reports.tick();
    expect(posted.slice(5)).toEqual([
      { kind: 'error', message: 'boom 5', count: 5, suppressed: 4 },
      { kind: 'stale', topic: '/scan', ageMs: 170, limitMs: 150, suppressed: 3 },
    ]);
    reports.tick();
    expect(posted).toHaveLength(7);
    // Still failing: held back until the next window ends, or the loop stops.
    reports.problem({ kind: 'error', message: 'boom 6', count: 6 });
    reports.flush();
    expect(posted.slice(7)).toEqual([{ kind: 'error', message: 'boom 6', count: 6, suppressed: 1 }]);
  });

  it('counts every line of a topic fresh from the first tick: it had no start to exempt', () => {
    const posted: LoopWorkerMessage[] = [];
    const reports = new LoopReports({
      post: (m) => void posted.push(m),
      slots: [{ topic: '/scan', maxAgeMs: 150 }],
      intervalMs: 60_000,
      now: () => 0,
    });
    reports.transition(0, true, 160);
    reports.transition(0, false, 2);
    reports.transition(0, true, 155);
    expect(posted).toEqual([
      { kind: 'stale', topic: '/scan', ageMs: 160, limitMs: 150, suppressed: 0 },
      { kind: 'fresh', topic: '/scan', suppressed: 0 },
    ]);
  });
});
