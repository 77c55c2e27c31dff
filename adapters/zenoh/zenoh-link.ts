// Over 400 lines because the session's lifecycle (open, serve, lose, reconnect) and what is made on a session
// (declarations, gets) share its one session and counters; the keepalive and the held declarations are modules.
import type { Logger } from 'pino';
import type { Publisher, PublisherOptions, Query, Sample, Session } from '@eclipse-zenoh/zenoh-ts';
import { Backoff, errorText, rateLimitedErrors, sleep } from '../../daemon/util/index.ts';
import { READ_ACK_KEY, ReadAcks } from './read-acks.ts';
import { HeldDeclarations, type Declaration } from './held-declarations.ts';
import type { GetOptions, GetReply, Handle, LinkPublisher, LinkState, ZenohLinkOptions } from './link-types.ts';
import { openSession } from './session-open.ts';
import { startKeepalive } from './session-keepalive.ts';
import { SessionSocket } from './session-socket.ts';
import { loadZenoh, WEBSOCKET_MAX_MESSAGE_BYTES, type ZenohModule } from './zenoh-runtime.ts';
import { borrowedZBytes } from './borrowed-bytes.ts';
import type { StatusFigures } from '../../daemon/contract/index.ts';

export type { GetOptions, GetReply, Handle, LinkPublisher, LinkState, ZenohLinkOptions } from './link-types.ts';

const READ_ACK_PAYLOAD = new Uint8Array(0);

/**
 * One Zenoh session through zenoh-ts that stays up: zenoh-ts never reconnects, does not notice a closed
 * socket on send, and retries a dead endpoint for half an hour in `Session.open`. The link opens with its own
 * timeout, watches the socket (its close event and a keepalive request), and after a loss reconnects with
 * exponential backoff and jitter, declaring again every publisher, subscriber, queryable and liveliness
 * token it holds. Callbacks into the daemon run inside try/catch: a handler's fault is counted, never thrown
 * into zenoh-ts's socket handler. Declarations may be made while the link is down; they take effect on the
 * next session.
 */
export class ZenohLink {
  readonly endpoint: string;
  #url: string;
  #openTimeoutMs: number;
  #responseTimeoutMs: number;
  #keepaliveMs: number;
  #keepaliveWhenQuiet: boolean;
  #ackEveryRead: boolean;
  /** Callbacks run, for keepaliveWhenQuiet: a count, not a clock read, since it ticks for every sample. */
  #heard = 0;
  #reconnectMinMs: number;
  #reconnectMaxMs: number;
  #log: Logger;
  #declareFailureLog: ReturnType<typeof rateLimitedErrors>;
  #oversizeLog: ReturnType<typeof rateLimitedErrors>;
  #onState: (state: LinkState, reason?: string) => void;
  #declarations = new HeldDeclarations({
    // #session is set only once the session is up, and #zenoh before any session opens.
    current: () => (this.#session && this.#zenoh ? { session: this.#session, zenoh: this.#zenoh } : undefined),
    onFailed: (declaration, error) => this.#declareFailed(declaration, error),
  });
  #session: Session | undefined;
  #zenoh: ZenohModule | undefined;
  #state: LinkState = 'connecting';
  #reason: string | undefined;
  #stop = new AbortController();
  #running: Promise<void> | undefined;
  #lost: (() => void) | undefined;
  #upListeners = new Set<(session: Session) => void>();
  #openListeners = new Set<() => void>();
  readonly counters = {
    opens: 0,
    openFailures: 0,
    losses: 0,
    callbackErrors: 0,
    declareFailures: 0,
    routers: 0,
    keepalives: 0,
    /** Reads acknowledged at once while a query was open, or at every read with ackEveryRead (ReadAcks). */
    readAcks: 0,
    /** Queries (gets) sent. */
    queries: 0,
  };
  /** Queries (gets) sent and not yet ended by their final or timeout. */
  #openQueries = 0;
  /** Sessions lost to a message over WEBSOCKET_MAX_MESSAGE_BYTES from the bridge. */
  #oversizeMessages = 0;
  #upSince: number | undefined;
  #zid = '';
  #nextTryAt: number | undefined;

  constructor(options: ZenohLinkOptions) {
    const {
      endpoint,
      openTimeoutMs = 5000,
      responseTimeoutMs = 3000,
      keepaliveMs = 1000,
      keepaliveWhenQuiet = false,
      ackEveryRead = false,
      reconnectMinMs = 250,
      reconnectMaxMs = 10_000,
    } = options;
    this.endpoint = endpoint;
    this.#url = /^wss?\//.test(endpoint) && !endpoint.includes('://') ? endpoint.replace('/', '://') : endpoint;
    this.#openTimeoutMs = openTimeoutMs;
    this.#responseTimeoutMs = responseTimeoutMs;
    this.#keepaliveMs = keepaliveMs;
    this.#keepaliveWhenQuiet = keepaliveWhenQuiet;
    this.#ackEveryRead = ackEveryRead;
    this.#reconnectMinMs = reconnectMinMs;
    this.#reconnectMaxMs = reconnectMaxMs;
    this.#log = options.log;
    this.#declareFailureLog = rateLimitedErrors(options.log, { first: 3 });
    this.#oversizeLog = rateLimitedErrors(options.log, { first: 1 });
    this.#onState = options.onState ?? (() => {});
  }

  get state(): LinkState {
    return this.#state;
  }

  get reason(): string | undefined {
    return this.#reason;
  }

  details(): StatusFigures {
    return {
      endpoint: this.endpoint,
      state: this.#state,
      zid: this.#zid,
      ...(this.#reason ? { reason: this.#reason } : {}),
      up_since_ms: this.#upSince,
      next_try_in_ms:
        this.#nextTryAt === undefined ? undefined : Math.max(0, Math.round(this.#nextTryAt - performance.now())),
      declarations: this.#declarations.size,
      open_queries: this.#openQueries,
      ...this.counters,
      ...(this.#oversizeMessages > 0 ? { oversize_messages: this.#oversizeMessages } : {}),
    };
  }

  /** Starts connecting in the background; never throws, whether or not the endpoint is there. */
  start(): void {
    this.#running ??= this.#run();
  }

  async close(): Promise<void> {
    this.#stop.abort();
    this.#lost?.();
    await this.#running;
    this.#setState('closed');
  }

  /**
   * Calls `listener` as each new session opens, before anything held is declared on it: what a declaration hears
   * (a liveliness subscriber's history) comes after it.
   */
  onOpen(listener: () => void): () => void {
    this.#openListeners.add(listener);
    return () => this.#openListeners.delete(listener);
  }

  /** Calls `listener` with each new session, after everything held has been declared on it. */
  onUp(listener: (session: Session) => void): () => void {
    this.#upListeners.add(listener);
    return () => this.#upListeners.delete(listener);
  }

  /** The session while the link is up. */
  get session(): Session | undefined {
    return this.#session;
  }

  /** The Zenoh id of the current (or last) session, in hex. */
  get zid(): string {
    return this.#zid;
  }

  declarePublisher(key: string, options: PublisherOptions): LinkPublisher {
    let publisher: Publisher | undefined;
    let declaring: Promise<Publisher | undefined> | undefined;
    const handle = this.#declarations.hold({
      what: `publisher ${key}`,
      declare: async (session) => {
        declaring = session.declarePublisher(key, options);
        publisher = await declaring;
      },
      forget: () => (publisher = declaring = undefined),
      undeclare: async () => {
        const p = publisher;
        publisher = undefined;
        await p?.undeclare();
      },
    });
    return {
      key,
      close: handle.close,
      put: async (payload, attachment, timestamp) => {
        // A topic's first samples come as its publisher is being declared: they wait for it.
        const p = publisher ?? (await declaring?.catch(() => undefined));
        if (p === undefined) return false;
        try {
          const bytes = this.#zenoh ? borrowedZBytes(this.#zenoh, payload) : payload;
          await p.put(bytes, { ...(attachment ? { attachment } : {}), ...(timestamp ? { timestamp } : {}) });
          return true;
        } catch {
          return false; // the link is going down: the watch will see it, the caller counts the sample
        }
      },
    };
  }

  declareSubscriber(key: string, onSample: (sample: Sample) => void): Handle {
    return this.#declarations.holdUndeclarable(`subscriber ${key}`, (session) =>
      session.declareSubscriber(key, { handler: this.#guard(onSample) }),
    );
  }

  declareQueryable(key: string, onQuery: (query: Query) => void, complete = true): Handle {
    return this.#declarations.holdUndeclarable(`queryable ${key}`, (session) =>
      session.declareQueryable(key, { complete, handler: this.#guard(onQuery) }),
    );
  }

  /** `key` is asked again for each session: a token names the session it is declared on. */
  declareToken(key: () => string): Handle {
    return this.#declarations.holdUndeclarable(`liveliness token ${key()}`, (session) =>
      session.liveliness().declareToken(key()),
    );
  }

  /** A liveliness subscriber; with `history`, the tokens alive when it is declared come first (each session). */
  declareLivelinessSubscriber(key: string, onSample: (sample: Sample) => void, history = true): Handle {
    return this.#declarations.holdUndeclarable(`liveliness subscriber ${key}`, (session) =>
      session.liveliness().declareSubscriber(key, { history, handler: this.#guard(onSample) }),
    );
  }

  /** A Zenoh get; rejects when the link is down, and at `timeoutMs` even if the bridge never says it is done. */
  async get(selector: string, options: GetOptions): Promise<GetReply[]> {
    const session = this.#session;
    const zenoh = this.#zenoh;
    if (session === undefined || zenoh === undefined) throw new Error(`the Zenoh link to ${this.endpoint} is down`);
    const {
      payload,
      encoding,
      attachment,
      timeoutMs,
      allComplete = false,
      firstReply = false,
      firstOk = false,
    } = options;
    const replies: GetReply[] = [];
    return new Promise<GetReply[]>((resolve, reject) => {
      // Open until its final, also when answered at the first reply: the final is one more frame of the bridge.
      const close = this.#openQuery();
      const timer = setTimeout(() => (close(), resolve(replies)), timeoutMs + 500);
      const final = () => (clearTimeout(timer), close(), resolve(replies));
      const onReply = this.#guard((reply: InstanceType<ZenohModule['Reply']>) => {
        if (firstReply && replies.length > 0) return;
        const result = reply.result();
        if (result instanceof zenoh.Sample) {
          replies.push({ ok: true, sample: result });
          if (firstOk) resolve(replies);
        } else replies.push({ ok: false, payload: result.payload().toBytes(), encoding: result.encoding().toString() });
        if (firstReply) resolve(replies);
      });
      session
        .get(selector, {
          ...(payload ? { payload } : {}),
          ...(encoding ? { encoding } : {}),
          ...(attachment ? { attachment } : {}),
          timeout: zenoh.Duration.milliseconds.of(timeoutMs),
          target: allComplete ? zenoh.QueryTarget.ALL_COMPLETE : zenoh.QueryTarget.BEST_MATCHING,
          // Every reply counts: a publication cache answers several samples under one key.
          consolidation: zenoh.ConsolidationMode.NONE,
          handler: [onReply, final],
        })
        .catch((error: unknown) => (clearTimeout(timer), close(), reject(error)));
    });
  }

  /** The keys of the liveliness tokens alive now that match `key`; rejects when the link is down. */
  async livelinessGet(key: string, timeoutMs: number): Promise<string[]> {
    const session = this.#session;
    const zenoh = this.#zenoh;
    if (session === undefined || zenoh === undefined) throw new Error(`the Zenoh link to ${this.endpoint} is down`);
    const keys: string[] = [];
    return new Promise<string[]>((resolve, reject) => {
      const close = this.#openQuery();
      const timer = setTimeout(() => (close(), resolve(keys)), timeoutMs + 500);
      const onReply = this.#guard((reply: InstanceType<ZenohModule['Reply']>) => {
        const result = reply.result();
        if (result instanceof zenoh.Sample) keys.push(result.keyexpr().toString());
      });
      session
        .liveliness()
        .get(key, {
          timeout: zenoh.Duration.milliseconds.of(timeoutMs),
          handler: [onReply, () => (clearTimeout(timer), close(), resolve(keys))],
        })
        .catch((error: unknown) => (clearTimeout(timer), close(), reject(error)));
    });
  }

  /** Counts a query open until the returned function is called (once; later calls do nothing). */
  #openQuery(): () => void {
    this.counters.queries++;
    this.#openQueries++;
    let open = true;
    return () => {
      if (open) this.#openQueries--;
      open = false;
    };
  }

  #declareFailed(declaration: Declaration, error: unknown): void {
    this.counters.declareFailures++;
    // One line per few failures: a bridge that refuses thousands of declarations must not flood the log.
    this.#declareFailureLog(
      'declare',
      { what: declaration.what, err: errorText(error) },
      `zenoh: could not declare ${declaration.what}; declaring again on the next session`,
    );
    this.#lost?.(); // a declaration the bridge refused or timed out on: the link is not what we think
  }

  /** Counts and says why a session was lost to a message too large to read; logged at most once a minute. */
  #tooLarge(): string {
    this.#oversizeMessages++;
    const reason =
      `a message from the bridge was over the ${WEBSOCKET_MAX_MESSAGE_BYTES} bytes the daemon's WebSocket reads, ` +
      "so it closed the session (1009): a sample past Zenoh's own 1 GiB, which the bridge's " +
      'transport/link/rx/max_message_size was raised to pass; lower it there (zenoh.max_inbound_sample_bytes drops ' +
      'smaller samples without losing the session)';
    this.#oversizeLog('oversize', { endpoint: this.endpoint }, `zenoh: ${reason}`);
    return reason;
  }

  /** Wraps a callback zenoh-ts calls from its socket handler: an exception is counted and logged here. */
  #guard<T>(callback: (value: T) => void): (value: T) => void {
    return (value) => {
      this.#heard++;
      try {
        callback(value);
      } catch (error) {
        this.counters.callbackErrors++;
        this.#log.error({ err: errorText(error) }, 'zenoh: a handler failed');
      }
    };
  }

  #setState(state: LinkState, reason?: string): void {
    const changed = state !== this.#state || reason !== this.#reason;
    this.#state = state;
    this.#reason = reason;
    if (changed) this.#onState(state, reason);
  }

  async #run(): Promise<void> {
    const signal = this.#stop.signal;
    const backoff = new Backoff({ firstMs: this.#reconnectMinMs, maxMs: this.#reconnectMaxMs, jitter: 0.5 });
    while (!signal.aborted) {
      let reason: string;
      try {
        const session = await this.#open();
        if (signal.aborted) {
          await session.close().catch(() => {});
          break;
        }
        const opened = performance.now();
        reason = await this.#serve(session);
        // A session that held a while starts the backoff over; one dropped at once keeps backing off.
        if (performance.now() - opened > this.#reconnectMaxMs) backoff.reset();
      } catch (error) {
        this.counters.openFailures++;
        reason = errorText(error);
      }
      this.#session = undefined;
      this.#upSince = undefined;
      this.#declarations.forgetAll();
      if (signal.aborted) break;
      const delay = backoff.next();
      this.#setState('down', reason);
      this.#nextTryAt = performance.now() + delay;
      await sleep(delay, { signal });
      this.#nextTryAt = undefined;
    }
  }

  async #open(): Promise<Session> {
    this.#zenoh ??= await loadZenoh();
    return openSession(this.#zenoh, {
      url: this.#url,
      openTimeoutMs: this.#openTimeoutMs,
      responseTimeoutMs: this.#responseTimeoutMs,
      signal: this.#stop.signal,
      log: this.#log,
    });
  }

  /** Acknowledges every read at once (on), or only while a get is open (off): ZenohLinkOptions.ackEveryRead. */
  set ackEveryRead(on: boolean) {
    this.#ackEveryRead = on;
  }

  /** Declares everything on `session`, then returns the reason once the session is lost. */
  async #serve(session: Session): Promise<string> {
    let reason = 'closed';
    const socket = new SessionSocket(session);
    const zenoh = this.#zenoh!;
    new ReadAcks({
      socket,
      open: () => this.#ackEveryRead || this.#openQueries > 0,
      ack: () => {
        this.counters.readAcks++;
        void session
          .put(READ_ACK_KEY, READ_ACK_PAYLOAD, {
            allowedDestination: zenoh.Locality.SESSION_LOCAL,
            congestionControl: zenoh.CongestionControl.DROP,
          })
          .catch(() => {}); // the link is going down: the watch will see it
      },
    });
    const lost = new Promise<void>((resolve) => {
      this.#lost = () => resolve();
      socket.onClose((tooLarge) => {
        reason = tooLarge ? this.#tooLarge() : 'the bridge closed the WebSocket';
        resolve();
      });
    });
    const keepalive = startKeepalive({
      session,
      socket,
      intervalMs: this.#keepaliveMs,
      whenQuiet: this.#keepaliveWhenQuiet,
      heard: () => this.#heard,
      onAsk: () => this.counters.keepalives++,
      onRouters: (routers) => (this.counters.routers = routers),
      onLost: (why) => {
        reason = why;
        this.#lost?.();
      },
    });
    try {
      const info = await session.info();
      this.#zid = info.zid().toString();
      this.counters.routers = info.routersZid().length;
      for (const listener of this.#openListeners) listener();
      await this.#declarations.declareAll(session, zenoh);
      this.counters.opens++;
      this.#session = session;
      this.#upSince = Date.now();
      this.#setState('up');
      for (const listener of this.#upListeners) listener(session);
      await lost;
    } catch (error) {
      reason = `declaring on a new session failed: ${errorText(error)}`;
    } finally {
      keepalive.close();
      this.#lost = undefined;
      this.#session = undefined;
      this.counters.losses++;
      await session.close().catch(() => {});
    }
    return this.#stop.signal.aborted ? 'closed' : reason;
  }
}
