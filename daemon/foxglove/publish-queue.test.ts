import { describe, expect, it } from 'vitest';
import { PublishQueues } from './publish-queue.ts';
import { tick } from '../../test/helpers/wait.ts';

/** A task that waits until released, recording that it ran. */
function gated() {
  const ran: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const task = (i: number) => async () => {
    await gate;
    ran.push(i);
  };
  return { ran, task, release: () => release() };
}

describe('PublishQueues', () => {
  it("runs one client's tasks in order and drops (counts) past maxPending instead of queueing", async () => {
    const q = new PublishQueues({ maxPending: 3 });
    const client = {};
    const { ran, task, release } = gated();
    const accepted = Array.from({ length: 10 }, (_, i) => q.push(client, task(i), () => {}));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(q.pending(client)).toBe(3);
    expect(q.dropped).toBe(7);
    release();
    await tick();
    expect(ran).toEqual([0, 1, 2]);
    // Once the queue empties the client's entry is gone, and it may queue again.
    expect(q.size).toBe(0);
    expect(
      q.push(
        client,
        async () => {},
        () => {},
      ),
    ).toBe(true);
  });

  it('caps each client on its own, and a throwing task does not stop the queue', async () => {
    const q = new PublishQueues({ maxPending: 1 });
    const a = {};
    const b = {};
    const errors: unknown[] = [];
    const ran: string[] = [];
    expect(
      q.push(
        a,
        async () => Promise.reject(new Error('hook failed')),
        (e) => errors.push(e),
      ),
    ).toBe(true);
    expect(
      q.push(
        b,
        async () => void ran.push('b'),
        () => {},
      ),
    ).toBe(true);
    expect(
      q.push(
        a,
        async () => void ran.push('a2'),
        () => {},
      ),
    ).toBe(false);
    await tick();
    expect(errors).toHaveLength(1);
    expect(
      q.push(
        a,
        async () => void ran.push('a3'),
        () => {},
      ),
    ).toBe(true);
    await tick();
    expect(ran).toEqual(['b', 'a3']);
    expect(q.size).toBe(0);
  });

  it('forgets a client that went away, and its old tasks do not remove a newer entry', async () => {
    const q = new PublishQueues({ maxPending: 2 });
    const client = {};
    const { task, release } = gated();
    q.push(client, task(1), () => {});
    q.delete(client);
    expect(q.size).toBe(0);
    q.push(client, task(2), () => {});
    expect(q.size).toBe(1);
    release();
    await tick();
    expect(q.size).toBe(0);
  });

  it('queues a stop past the cap, once per channel: a second stop with nothing between merges into the first', async () => {
    const q = new PublishQueues({ maxPending: 3 });
    const client = {};
    const ran: string[] = [];
    const releases: (() => void)[] = [];
    const push = (name: string, channel: number, stop: boolean) =>
      q.push(
        client,
        async () => {
          await new Promise<void>((r) => releases.push(r));
          ran.push(name);
        },
        () => {},
        { channel, stop },
      );
    const runOne = async () => {
      await tick();
      releases.shift()!();
      await tick();
    };
    expect([
      push('move1', 1, false),
      push('move2', 1, false),
      push('move3', 1, false),
      push('dropped', 1, false),
    ]).toEqual([true, true, true, false]);
    expect([push('stop1', 1, true), push('merged', 1, true), push('stop2', 2, true)]).toEqual([true, true, true]);
    expect(q.pending(client)).toBe(5);
    expect(q.dropped).toBe(1);
    // Three ran: room for one move, and a stop after it says something new, so it is queued.
    for (let i = 0; i < 3; i++) await runOne();
    expect(push('move4', 1, false)).toBe(true);
    expect(push('stop3', 1, true)).toBe(true);
    while (q.size > 0) await runOne();
    expect(ran).toEqual(['move1', 'move2', 'move3', 'stop1', 'stop2', 'move4', 'stop3']);
  });

  it('rejects a maxPending that is not a positive integer', () => {
    expect(() => new PublishQueues({ maxPending: 0 })).toThrow(/maxPending/);
  });
});
