/**
 * What the recorder wrote and dropped, per topic. A topic let go while quiet leaves the per-topic counts
 * written (its messages stay in the total); its drop counts stay.
 */
export class RecordedCounts {
  #written = new Map<string, number>();
  #drops = new Map<string, number>();
  /** Messages written on topics since let go while quiet. */
  #forgotten = 0;

  get written(): ReadonlyMap<string, number> {
    return this.#written;
  }

  /** Messages written in all, topics let go included. */
  get total(): number {
    return [...this.#written.values()].reduce((a, b) => a + b, this.#forgotten);
  }

  wrote(topic: string): void {
    this.#written.set(topic, (this.#written.get(topic) ?? 0) + 1);
  }

  dropped(topic: string): void {
    this.#drops.set(topic, (this.#drops.get(topic) ?? 0) + 1);
  }

  forget(topic: string): void {
    this.#forgotten += this.#written.get(topic) ?? 0;
    this.#written.delete(topic);
  }

  /** The recorder's own drops added to `queued`, the drops of the bus's queues, per topic. */
  drops(queued: Iterable<readonly [string, number]>): Record<string, number> {
    const out: Record<string, number> = Object.fromEntries(queued);
    for (const [topic, n] of this.#drops) out[topic] = (out[topic] ?? 0) + n;
    return out;
  }
}
