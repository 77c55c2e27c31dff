/** What a served request was answered with: the reply's CDR, or the error reply's text. */
export type ServedReply = { ok: true; payload: Uint8Array } | { ok: false; error: string };

/**
 * One request, one execution: the service calls a served service has seen, by the request's (client GID,
 * sequence number) from rmw_zenoh's attachment. A request seen before is not run again; it gets the first
 * one's reply, once that is there. A bridge that delivers a query twice (zenoh-bridge-ros2dds after a
 * reconnect: an old route's querier alive again) or a client that retries must not stop a robot twice or
 * move it twice. Bounded: the last `perClient` requests of each of the last `clients` clients.
 */
export class RequestDedupe {
  #counters: { duplicates: number };
  #perClient: number;
  #clients: number;
  #seen = new Map<string, Map<bigint, Promise<ServedReply>>>();

  /** `counters.duplicates` counts the requests answered with an earlier execution's reply. */
  constructor(options: { counters: { duplicates: number }; perClient?: number; clients?: number }) {
    const { counters, perClient = 64, clients = 256 } = options;
    this.#counters = counters;
    this.#perClient = perClient;
    this.#clients = clients;
  }

  /**
   * The reply to the request `sequence` of client `gid`: `execute`'s, run now if the request is new, or the
   * first execution's if it was seen.
   */
  answer(gid: Uint8Array, sequence: bigint, execute: () => Promise<ServedReply>): Promise<ServedReply> {
    const client = Buffer.from(gid).toString('hex');
    let requests = this.#seen.get(client);
    const seen = requests?.get(sequence);
    if (seen !== undefined) {
      this.#counters.duplicates++;
      return seen;
    }
    if (requests === undefined) {
      requests = new Map();
      this.#seen.set(client, requests);
      if (this.#seen.size > this.#clients) this.#seen.delete(this.#seen.keys().next().value!);
    } else {
      // The most recent client last, so the one forgotten first is the one quiet longest.
      this.#seen.delete(client);
      this.#seen.set(client, requests);
    }
    const reply = execute();
    requests.set(sequence, reply);
    if (requests.size > this.#perClient) requests.delete(requests.keys().next().value!);
    return reply;
  }
}
