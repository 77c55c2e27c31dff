import { describe, expect, it } from 'vitest';
import { PublishQueues } from './publish-queue.ts';

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

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('PublishQueues', () => {
  it('runs one client\'s tasks in order and drops (counts) past maxPending instead of queueing', async () => {
    const q = new PublishQueues({ maxPending: 3 });
    const client = {};
    const { ran, task, release } = gated();
    const accepted = Array.from({ length: 10 }, (_, i) => q.push(client, task(i), () => {}));
    expect(accepted).toEqual([true, true, true, false, false, false, false, false, false, false]);
    expect(q.pending(client)).toBe(3);
    expect(q.dropped).toBe(7);
    release();
    await settle();
    expect(ran).toEqual([0, 1, 2]);
    // Once the queue empties the client's entry is gone, and it may queue again.
    expect(q.size).toBe(0);
    expect(q.push(client, async () => {}, () => {})).toBe(true);
  });

  it('caps each client on its own, and a throwing task does not stop the queue', async () => {
    const q = new PublishQueues({ maxPending: 1 });
    const a = {};
    const b = {};
    const errors: unknown[] = [];
    const ran: string[] = [];
    expect(q.push(a, async () => Promise.reject(new Error('hook failed')), (e) => errors.push(e))).toBe(true);
    expect(q.push(b, async () => void ran.push('b'), () => {})).toBe(true);
    expect(q.push(a, async () => void ran.push('a2'), () => {})).toBe(false);
    await settle();
    expect(errors).toHaveLength(1);
    expect(q.push(a, async () => void ran.push('a3'), () => {})).toBe(true);
    await settle();
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
    await settle();
    expect(q.size).toBe(0);
  });

  it('rejects a maxPending that is not a positive integer', () => {
    expect(() => new PublishQueues({ maxPending: 0 })).toThrow(/maxPending/);
  });
});
