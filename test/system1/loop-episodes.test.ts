import { afterAll, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeChunkModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());
const codec = new MessageCodec(new DefinitionsRegistry());
const STRING = 'std_msgs/msg/String';

/**
 * control.loops.<name>.episodes: at each "begin" mark the loop drops the plan of the episode before (LeRobot's
 * policy.reset()). The chunk model's action k is (k + 1) x obs with obs the constant [1, -1], and each chunk's 4
 * actions run in turn (threshold 0, latest_only): a command's first element says which action of its chunk it is.
 */
function episodeLoop(
  inference: 'inline' | 'async',
  isolation: 'thread' | 'process' = 'thread',
  refusal?: () => string | undefined,
) {
  const harness = loopHarness(
    writeChunkModel(tmp.path, 4),
    {
      rate_hz: 20,
      chunking: {
        inference,
        threshold: 0,
        aggregate: 'latest_only',
        inference_timeout_ms: 1000,
        n_action_steps: 4,
      } as never,
      episodes: '/episode',
      isolation,
    },
    { inputs: CONSTANT_OBS, refusal },
  );
  let marks: ReturnType<typeof harness.bus.advertise> | undefined;
  const mark = (data: string) =>
    (marks ??= harness.bus.advertise('/episode', STRING, { source: 'test' })).publish(codec.encode(STRING, { data }));
  const actions = () => harness.commands.filter((c) => !c.safe).map((c) => c.values[0]!);
  return { ...harness, mark, actions };
}

/** Commands whose chunk began afresh in the middle of another: a 1 right after a 1, 2 or 3. */
const restartedMidChunk = (values: number[]) => values.filter((v, i) => i > 0 && v === 1 && values[i - 1]! < 4).length;

describe('a control loop with episodes', () => {
  it.each(['thread', 'process'] as const)(
    "starts a new plan at a begin mark, not the rest of the last episode's chunk; end marks change nothing (%s)",
    async (isolation) => {
      const { bus, control, mark, actions } = episodeLoop('inline', isolation);
      await control.start();
      try {
        await waitFor(() => actions().length >= 8, 'two whole chunks');
        expect(restartedMidChunk(actions())).toBe(0);
        mark('end 0 success');
        const chunks = control.stats().chunks;
        await waitFor(() => control.stats().chunks >= chunks + 2, 'two chunks after the end mark');
        expect(control.stats().episodes).toBe(0);
        // A begin lands at a random point of a chunk; 3 in 4 land mid-chunk, so a few are enough to see one.
        for (let tries = 0; tries < 20 && restartedMidChunk(actions()) === 0; tries++) {
          const begun = control.stats().episodes;
          mark(`begin ${tries + 1} seed 7`);
          await waitFor(() => control.stats().episodes > begun, 'the loop to take the begin mark');
          const sent = actions().length;
          await waitFor(() => actions().length >= sent + 2, 'actions after the begin mark');
        }
        const values = actions();
        expect(restartedMidChunk(values)).toBeGreaterThan(0);
        expect(restartedMidChunk(values)).toBeLessThanOrEqual(control.stats().episodes);
        // Within a plan the actions still run in order: 2 after 1, 3 after 2, 4 after 3.
        values.forEach((v, i) => v > 1 && expect(values[i - 1]).toBe(v - 1));
      } finally {
        await control.close();
        bus.close();
      }
    },
  );

  /** Twenty begin marks every 5 ms, until the interval is cleared. */
  const floodBegins = (mark: (text: string) => void) =>
    setInterval(() => {
      for (let i = 0; i < 20; i++) mark('begin 1');
    }, 5);

  it('keeps sending actions under a flood of begin marks', async () => {
    const { bus, control, mark, actions } = episodeLoop('async');
    await control.start();
    const flood = floodBegins(mark);
    try {
      await waitFor(() => control.stats().episodes >= 3, 'the flood to reset the plan');
      // Every reset waits for an action of its own plan before another counts: the robot is never left with none.
      const sent = actions().length;
      await waitFor(() => actions().length >= sent + 10, 'ten actions during the flood');
      expect(control.stats().episodes).toBeLessThanOrEqual(actions().length);
    } finally {
      clearInterval(flood);
      await control.close();
      bus.close();
    }
  });

  it('sends only the safe action under a latched stop, however many begin marks come', async () => {
    const { bus, control, mark, commands } = episodeLoop('inline', 'thread', () => 'the operator stop is latched');
    await control.start();
    const flood = floodBegins(mark);
    try {
      await waitFor(() => control.stats().episodes >= 3, 'the flood to reset the plan');
      const sent = commands.length;
      await waitFor(() => commands.length >= sent + 10, 'ten commands during the flood');
      expect(commands.filter((c) => !c.safe)).toEqual([]);
    } finally {
      clearInterval(flood);
      await control.close();
      bus.close();
    }
  });

  it('counts and skips what comes on the marks topic when it carries no String, and runs on', async () => {
    const { bus, control, actions } = episodeLoop('inline');
    const garbage = bus.advertise('/episode', 'std_msgs/msg/Float64MultiArray', { source: 'test' });
    await control.start();
    try {
      garbage.publish(
        codec.encode('std_msgs/msg/Float64MultiArray', { layout: { dim: [], data_offset: 0 }, data: [1] }),
      );
      await waitFor(() => control.stats().observationErrors > 0, 'the message to be counted');
      const after = actions().length;
      await waitFor(() => actions().length >= after + 5, 'actions after it');
      expect(control.stats().episodes).toBe(0);
    } finally {
      await control.close();
      bus.close();
    }
  });
});
