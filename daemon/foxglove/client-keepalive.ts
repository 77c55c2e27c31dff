import type { WebSocket } from 'ws';

export interface ClientKeepaliveOptions {
  /** How often each client is pinged. */
  intervalMs: number;
  /** Pings a client may leave unanswered in a row (a slow link may hold one back behind its data). */
  maxMissed?: number;
  /** Told of each client cut off, before its connection is terminated. */
  onDead: (name: string, missed: number) => void;
}

/**
 * Pings every watched client and terminates one that answers none of `maxMissed` pings in a row (anything
 * it sends counts as an answer). A client on a link that died without a FIN (Wi-Fi gone) would otherwise
 * hold its connection, subscriptions and send buffer for as long as TCP does not give up, which is forever
 * when nothing is sent to it. Call `stop` to end the timer.
 */
export class ClientKeepalive {
  #clients = new Map<WebSocket, { name: string; missed: number }>();
  #timer: NodeJS.Timeout;

  constructor(options: ClientKeepaliveOptions) {
    const { intervalMs, maxMissed = 3, onDead } = options;
    this.#timer = setInterval(() => {
      for (const [ws, client] of this.#clients) {
        if (client.missed >= maxMissed) {
          this.#clients.delete(ws);
          onDead(client.name, client.missed);
          ws.terminate();
          continue;
        }
        client.missed++;
        ws.ping();
      }
    }, intervalMs);
    this.#timer.unref();
  }

  watch(ws: WebSocket, name: string): void {
    const client = { name, missed: 0 };
    this.#clients.set(ws, client);
    const answered = (): void => void (client.missed = 0);
    ws.on('pong', answered);
    ws.on('message', answered);
    ws.once('close', () => this.#clients.delete(ws));
  }

  close(): void {
    clearInterval(this.#timer);
    this.#clients.clear();
  }
}
