/**
 * Per-client serial queues for client publishes: one client's messages run one at a time, in the order
 * sent (a policy hook may be asynchronous), and at most `maxPending` wait per client. Past that a message
 * is dropped and counted instead of queued, so a client that sends faster than the hooks decide cannot
 * grow the daemon's memory. A client's entry goes away once its queue is empty or it disconnects.
 */
export class PublishQueues {
  #maxPending: number;
  #queues = new Map<object, { tail: Promise<void>; pending: number }>();
  #dropped = 0;

  constructor(options: { maxPending: number }) {
    const { maxPending } = options;
    if (!Number.isInteger(maxPending) || maxPending < 1) throw new Error(`PublishQueues: maxPending must be a positive integer, got ${maxPending}`);
    this.#maxPending = maxPending;
  }

  /** Messages dropped because their client's queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Clients with work queued or running. */
  get size(): number {
    return this.#queues.size;
  }

  /** Messages queued or running for `client`. */
  pending(client: object): number {
    return this.#queues.get(client)?.pending ?? 0;
  }

  /**
   * Runs `task` after the client's earlier ones; false (and counted) when the client already has
   * `maxPending` waiting. A task that throws goes to `onError` and does not stop the queue.
   */
  push(client: object, task: () => Promise<void>, onError: (error: unknown) => void): boolean {
    let queue = this.#queues.get(client);
    if (queue && queue.pending >= this.#maxPending) {
      this.#dropped++;
      return false;
    }
    if (!queue) {
      queue = { tail: Promise.resolve(), pending: 0 };
      this.#queues.set(client, queue);
    }
    const q = queue;
    q.pending++;
    q.tail = q.tail.then(task).catch(onError).finally(() => {
      q.pending--;
      // Only the entry this task belongs to: the client may have gone and come back as a new one.
      if (q.pending === 0 && this.#queues.get(client) === q) this.#queues.delete(client);
    });
    return true;
  }

  /** The client went away: forget its queue (tasks already queued still run, and find no session). */
  delete(client: object): void {
    this.#queues.delete(client);
  }

  clear(): void {
    this.#queues.clear();
  }
}
