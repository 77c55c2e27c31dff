import wsProtocol, { type Channel } from '@foxglove/ws-protocol';
import { WebSocket } from 'ws';
import { waitFor } from '../helpers/wait.ts';

const { FoxgloveClient } = wsProtocol;
type Client = InstanceType<typeof FoxgloveClient>;

/**
 * The daemon's bus as a Foxglove client sees it (ws-protocol's own client on its WebSocket): each message of a topic
 * as the CDR bytes the bus holds, and messages published onto the bus as a client (foxglove.client_publish), which the
 * daemon then sends to ROS like any bus message.
 */
export class BusClient {
  readonly #ws: WebSocket;
  readonly #client: Client;
  readonly #channels = new Map<string, Channel>();
  readonly #subscribed = new Map<number, string>();
  readonly #received = new Map<string, Buffer[]>();
  readonly #published = new Map<string, number>();
  readonly #statuses: string[] = [];
  #ready = false;

  private constructor(url: string) {
    this.#ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL]);
    this.#client = new FoxgloveClient({
      ws: this.#ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'],
    });
    this.#client.on('serverInfo', () => (this.#ready = true));
    this.#client.on('status', ({ message }) => void this.#statuses.push(message));
    this.#client.on('advertise', (list) => list.forEach((c) => this.#channels.set(c.topic, c)));
    this.#client.on('message', ({ subscriptionId, data }) => {
      const topic = this.#subscribed.get(subscriptionId);
      if (topic === undefined) return;
      this.#received.get(topic)!.push(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    });
  }

  /** Connects to the daemon's Foxglove server at `url`; resolves once the server said hello. */
  static async connect(url: string): Promise<BusClient> {
    const bus = new BusClient(url);
    await waitFor(() => bus.#ready, `the Foxglove server at ${url}`);
    return bus;
  }

  /** Subscribes to `topic` once the bus has it (the daemon bridged it in); gives its type as the server names it. */
  async subscribe(topic: string, timeoutMs = 60_000): Promise<string> {
    await waitFor(() => this.#channels.has(topic), `${topic} on the bus`, timeoutMs);
    const channel = this.#channels.get(topic)!;
    this.#received.set(topic, []);
    this.#subscribed.set(this.#client.subscribe(channel.id), topic);
    return channel.schemaName;
  }

  /** The messages of `topic` received since subscribe, in order, as the CDR bytes the bus holds. */
  messages(topic: string): Buffer[] {
    return this.#received.get(topic) ?? [];
  }

  /** Waits until `count` messages of `topic` came. */
  async received(topic: string, count: number, timeoutMs = 60_000): Promise<Buffer[]> {
    await waitFor(
      () => this.messages(topic).length >= count,
      `${count} message(s) of ${topic} on the bus (got ${this.messages(topic).length})`,
      timeoutMs,
    );
    return this.messages(topic);
  }

  /** Publishes `cdr` (with its encapsulation header) on the bus topic `topic` of `type`, as a client. */
  publish(topic: string, type: string, cdr: Uint8Array): void {
    let channel = this.#published.get(topic);
    if (channel === undefined) {
      channel = this.#client.advertise({ topic, encoding: 'cdr', schemaName: type });
      this.#published.set(topic, channel);
    }
    this.#client.sendMessage(channel, cdr);
  }

  /** The status messages the server sent this client (a refused publish among them), in order. */
  statuses(): readonly string[] {
    return this.#statuses;
  }

  close(): void {
    this.#ws.terminate();
  }
}
