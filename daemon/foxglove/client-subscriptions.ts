/** A subscription the protocol server took: the client's id for it, and the channel. */
export interface TakenSubscription {
  id: unknown;
  channelId: unknown;
}

/**
 * The subscriptions the protocol server holds for one client, which it keeps to itself, followed from the
 * client's subscribe and unsubscribe frames by the server's own rules (@foxglove/ws-protocol 0.8): a
 * subscription is taken unless its id is in use, the client already watches its channel, or the channel
 * does not exist; an item the server cannot read (null) ends the frame, as the server throws on it. The
 * latched replay needs it: a message under a subscription id the server refused would reach a client that
 * holds no such subscription.
 */
export class ClientSubscriptions {
  #byId = new Map<unknown, unknown>();
  #byChannel = new Map<unknown, unknown>();

  /** A subscribe frame's `subscriptions`: the ones the server took, in order. */
  subscribe(subscriptions: unknown, channelExists: (channelId: unknown) => boolean): TakenSubscription[] {
    const taken: TakenSubscription[] = [];
    for (const item of listed(subscriptions)) {
      if (item === null || item === undefined) break;
      const { id, channelId } = item as { id?: unknown; channelId?: unknown };
      if (this.#byId.has(id) || this.#byChannel.has(channelId) || !channelExists(channelId)) continue;
      this.#byId.set(id, channelId);
      this.#byChannel.set(channelId, id);
      taken.push({ id, channelId });
    }
    return taken;
  }

  /** An unsubscribe frame's `subscriptionIds`. */
  unsubscribe(subscriptionIds: unknown): void {
    for (const id of listed(subscriptionIds)) {
      if (!this.#byId.has(id)) continue;
      this.#byChannel.delete(this.#byId.get(id));
      this.#byId.delete(id);
    }
  }
}

/** The ids a frame lists (a list that is not a JSON array is refused before the server sees it: client-frames.ts). */
function listed(value: unknown): Iterable<unknown> {
  return Array.isArray(value) ? value : [];
}
