import wsProtocol, {
  type Channel,
  type ClientChannelWithoutId,
  type MessageData,
  type StatusMessage,
} from '@foxglove/ws-protocol';
import { WebSocket } from 'ws';
import { errorText } from '../util/index.ts';

const { FoxgloveClient } = wsProtocol;
type Client = InstanceType<typeof FoxgloveClient>;

/** The connection could not be made or was lost: the message says where and why. */
export class TopicConnectionError extends Error {
  override name = 'TopicConnectionError';
}

/**
 * A connection to the daemon's Foxglove WebSocket server, as `auraison-edge topic` uses it: the channels it
 * advertises (one per bus topic) and subscriptions to them; and, where the server offers client publishing,
 * channels of its own to publish on. `connectTopics` resolves once the server's first advertisement has
 * arrived, so `channels()` is the whole list then; topics advertised later are added.
 */
export class TopicConnection {
  readonly url: string;
  #ws: WebSocket;
  #client: Client;
  #channels: Map<number, Channel>;
  #handlers = new Map<number, (message: MessageData, receivedMs: number) => void>();
  #onClose: ((why: string) => void) | undefined;
  #closing = false;
  /** What the server offers (`clientPublish`), from its server info. */
  readonly capabilities: readonly string[];
  #statusListeners: ((status: StatusMessage) => void)[] = [];
  #advertiseListeners: ((channels: Channel[]) => void)[] = [];
  /** Who waits on each ping sent (`sync`), in order: each pong answers the oldest. */
  #pongs: (() => void)[] = [];

  constructor(
    url: string,
    ws: WebSocket,
    client: Client,
    channels: Map<number, Channel>,
    lastStatus: () => string | undefined,
    capabilities: readonly string[],
  ) {
    this.url = url;
    this.#ws = ws;
    this.#client = client;
    this.#channels = channels;
    this.capabilities = capabilities;
    client.on('message', (message) => this.#handlers.get(message.subscriptionId)?.(message, performance.now()));
    client.on('status', (status) => this.#statusListeners.forEach((l) => l(status)));
    client.on('advertise', (list) => this.#advertiseListeners.forEach((l) => l(list)));
    ws.on('pong', () => this.#pongs.shift()?.());
    client.on('close', (event: { code: number; reason: string }) => {
      this.#flushPongs();
      if (this.#closing) return;
      this.#closing = true;
      const status = lastStatus();
      this.#onClose?.(`${closeText(event)}${status ? `: ${status}` : ''}`);
    });
  }

  /** The channels advertised now, by topic name order. */
  channels(): Channel[] {
    return [...this.#channels.values()].sort((a, b) => a.topic.localeCompare(b.topic));
  }

  channel(topic: string): Channel | undefined {
    return [...this.#channels.values()].find((c) => c.topic === topic);
  }

  /** Messages of the channel, each with when it arrived (performance.now, ms), until `close`. */
  subscribe(channel: Channel, handler: (message: MessageData, receivedMs: number) => void): void {
    this.#handlers.set(this.#client.subscribe(channel.id), handler);
  }

  /** Status messages the server sends from now on (what it refused, and why). */
  onStatus(listener: (status: StatusMessage) => void): void {
    this.#statusListeners.push(listener);
  }

  /** Channels the server advertises from now on (a topic that appeared on the bus). */
  onAdvertise(listener: (channels: Channel[]) => void): void {
    this.#advertiseListeners.push(listener);
  }

  /** A channel of this client's to publish on (the server must offer `clientPublish`); its id. */
  advertise(channel: ClientChannelWithoutId): number {
    return this.#client.advertise(channel);
  }

  /** One message on a channel `advertise` gave. */
  publish(channelId: number, data: Uint8Array): void {
    this.#client.sendMessage(channelId, data);
  }

  /**
   * Resolves once the server has handled every frame sent before: it reads a ping after them and answers
   * it only then, so what it said of them (a refused advertisement) has arrived first. Resolves at once
   * too when the connection closes: the caller's close handler says why.
   */
  sync(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#closing) return resolve();
      this.#pongs.push(resolve);
      this.#ws.ping();
    });
  }

  #flushPongs(): void {
    for (const resolve of this.#pongs.splice(0)) resolve();
  }

  /** The server closed the connection (the daemon stopped, or restarted its Foxglove server on a reload). */
  onClose(listener: (why: string) => void): void {
    this.#onClose = listener;
  }

  close(): void {
    this.#closing = true;
    this.#flushPongs();
    this.#ws.terminate(); // nothing is left to say to the server; a close handshake would only wait on it
  }
}

/**
 * Connects to a Foxglove WebSocket server and waits for its server info and first advertisement: a ping
 * after the server info is answered only after what the server sent before it, so the pong means the
 * advertisement of every channel it had has arrived. All of it within `timeoutMs`: a server that accepts
 * the connection and never answers (a hung daemon, another program on the port) ends it with an error.
 */
export function connectTopics(url: string, options: { timeoutMs: number }): Promise<TopicConnection> {
  const { timeoutMs } = options;
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      // No handshakeTimeout of ws's own: the timer below bounds the connect, the handshake and the first frames.
      ws = new WebSocket(url, [FoxgloveClient.SUPPORTED_SUBPROTOCOL], { perMessageDeflate: false });
    } catch (error) {
      reject(new TopicConnectionError(`cannot connect to ${url}: ${errorText(error)}`));
      return;
    }
    const client = new FoxgloveClient({ ws: ws as unknown as ConstructorParameters<typeof FoxgloveClient>[0]['ws'] });
    const channels = new Map<number, Channel>();
    let lastStatus: string | undefined;
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      ws.terminate();
      reject(new TopicConnectionError(`no Foxglove connection to ${url}: ${why}`));
    };
    const timer = setTimeout(
      () =>
        fail(
          `no answer within ${timeoutMs / 1000} s: nothing there speaks the Foxglove WebSocket protocol (a hung daemon, another program on that port, or a firewall that drops the connection)`,
        ),
      timeoutMs,
    );
    client.on('advertise', (list) => list.forEach((c) => channels.set(c.id, c)));
    client.on('unadvertise', (ids) => ids.forEach((id) => channels.delete(id)));
    client.on('status', (s) => (lastStatus = s.message));
    client.on('error', (error: Error) => {
      // After the handshake, a frame the client cannot parse is not worth ending the connection for.
      if (!settled) fail(`${error.message}${/^Unexpected server response/.test(error.message) ? NOT_WEBSOCKET : ''}`);
    });
    client.on('close', (event: { code: number; reason: string }) =>
      fail(`${closeText(event)}${lastStatus ? `: ${lastStatus}` : ''}`),
    );
    client.on('serverInfo', (info) => {
      ws.once('pong', () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(new TopicConnection(url, ws, client, channels, () => lastStatus, info.capabilities));
      });
      ws.ping();
    });
  });
}

/** An HTTP server that refuses the upgrade: most often the daemon's API given where its Foxglove server belongs. */
const NOT_WEBSOCKET =
  " (an HTTP server that is not a Foxglove WebSocket server: if it is the daemon's API, give it as --url http://HOST:PORT, which says where the Foxglove server is)";

function closeText(event: { code: number; reason: string }): string {
  return `the server closed the connection (code ${event.code}${event.reason ? `, ${event.reason}` : ''})`;
}
