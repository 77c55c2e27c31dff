/** What a queued task publishes: its channel, and whether it is a stop (a zero Twist). */
export interface QueuedKind {
  channel: number;
  stop: boolean;
}

interface Queue {
  tail: Promise<void>;
  pending: number;
  /** Per channel, the stop queued last on it while it has not run yet (nothing queued on the channel since). */
  waitingStops: Map<number, object>;
}

/**
 * Per-client serial queues for client publishes: one client's messages run one at a time, in the order
 * sent (a policy hook may be asynchronous), and at most `maxPending` wait per client. Past that a message
 * is dropped and counted instead of queued, so a client that sends faster than the hooks decide cannot
 * grow the daemon's memory. A stop is the exception: dropping it would leave the command before it in
 * force, so it is queued past the cap, unless the last message queued on its channel is a stop that has
 * not run yet, which already says the same (it is merged into that one). That bounds the stops past the cap
 * to one per channel. A client's entry goes away once its queue is empty or it disconnects.
 */
export class PublishQueues {
  #maxPending: number;
  #queues = new Map<object, Queue>();
  #dropped = 0;

  constructor(options: { maxPending: number }) {
    const { maxPending } = options;
    if (!Number.isInteger(maxPending) || maxPending < 1)
      throw new Error(`PublishQueues: maxPending must be a positive integer, got ${maxPending}`);
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
   * `maxPending` waiting, for anything but a stop. A task that throws goes to `onError` and does not stop
   * the queue.
   */
  push(client: object, task: () => Promise<void>, onError: (error: unknown) => void, kind?: QueuedKind): boolean {
    let queue = this.#queues.get(client);
    if (queue && queue.pending >= this.#maxPending) {
      if (kind?.stop && queue.waitingStops.has(kind.channel)) return true; // merged into the stop that waits
      if (!kind?.stop) {
        this.#dropped++;
        return false;
      }
    }
    if (!queue) {
      queue = { tail: Promise.resolve(), pending: 0, waitingStops: new Map() };
      this.#queues.set(client, queue);
    }
    const q = queue;
    const token = {};
    if (kind?.stop) q.waitingStops.set(kind.channel, token);
    else if (kind) q.waitingStops.delete(kind.channel);
    q.pending++;
    const run = (): Promise<void> => {
      if (kind && q.waitingStops.get(kind.channel) === token) q.waitingStops.delete(kind.channel);
      return task();
    };
    q.tail = q.tail
      .then(run)
      .catch(onError)
      .finally(() => {
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
