import type { Logger } from 'pino';
import type { Reply, Sample } from '@eclipse-zenoh/zenoh-ts';
import { historyKey, parseAdvancedKey, publisherDetectionKey, subscriberToken } from './advanced-keys.ts';
import type { Handle, ZenohLink } from './zenoh-link.ts';
import { loadZenoh } from './zenoh-runtime.ts';
import { errorText } from '../../daemon/util/index.ts';

/** Entity ids for subscriber tokens, far above the small counters a bridge's own session hands out. */
let nextEid = 0x7e000000;

/**
 * The zenoh-ext advanced subscriber's side of a transient_local topic, set up as rmw_zenoh sets it up (history
 * of `depth` samples with detect_late_publishers, subscriber_detection): on each session it asks every
 * publisher cache of the topic (`<key>/@adv/**?_max=<depth>`, all queryables, no consolidation, replies under
 * any key), then asks each publisher whose token appears later, at its token's key. The live samples come
 * through the caller's own subscriber; the replies go to `onSample`, where the caller dedupes them against the
 * live ones by the attachment's sequence number. Not done (zenoh-ts cannot read a sample's source info):
 * reordering by sequence number, miss detection, heartbeat and periodic-query recovery.
 */
export class AdvancedHistory {
  #link: ZenohLink;
  #key: string;
  #depth: number;
  #timeoutMs: number;
  #onSample: (sample: Sample) => void;
  #log: Logger;
  #handles: Handle[] = [];
  #offUp: (() => void) | undefined;
  #closed = false;
  /** History queries sent, and those ended (a final reply, a timeout, a failure): every answer is in when equal. */
  readonly queries = { asked: 0, ended: 0 };

  constructor(options: {
    link: ZenohLink;
    /** The key the topic is subscribed with (it may hold a `*` for the type hash). */
    key: string;
    depth: number;
    timeoutMs?: number;
    onSample: (sample: Sample) => void;
    log: Logger;
  }) {
    const { link, key, depth, timeoutMs = 5000, onSample, log } = options;
    this.#link = link;
    this.#key = key;
    this.#depth = depth;
    this.#timeoutMs = timeoutMs;
    this.#onSample = onSample;
    this.#log = log;
  }

  start(): void {
    const eid = nextEid++;
    // Declared before the first history query, so a publisher that comes between them is asked (once more).
    this.#handles.push(
      this.#link.declareLivelinessSubscriber(
        publisherDetectionKey(this.#key),
        (token) => void this.#detected(token),
        false,
      ),
      this.#link.declareToken(() => subscriberToken(this.#key, this.#link.zid, eid)),
    );
    this.#offUp = this.#link.onUp(() => void this.#ask(historyKey(this.#key)));
    if (this.#link.state === 'up') void this.#ask(historyKey(this.#key));
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#offUp?.();
    await Promise.all(this.#handles.map((h) => h.close()));
  }

  async #detected(token: Sample): Promise<void> {
    const { SampleKind } = await loadZenoh();
    const key = token.keyexpr().toString();
    // A publisher's token going away needs nothing: what it sent stays delivered.
    if (parseAdvancedKey(key)?.entity !== 'pub' || token.kind() !== SampleKind.PUT) return;
    await this.#ask(key);
  }

  /** One history query; its replies go to `onSample` as they come. A failure is logged: the topic goes on live. */
  async #ask(key: string): Promise<void> {
    const session = this.#link.session;
    if (session === undefined || this.#closed) return;
    this.queries.asked++;
    try {
      const zenoh = await loadZenoh();
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, this.#timeoutMs + 500);
        const onReply = (reply: Reply) => {
          const result = reply.result();
          if (this.#closed || !(result instanceof zenoh.Sample)) return;
          try {
            this.#onSample(result);
          } catch (error) {
            this.#log.warn({ key, err: errorText(error) }, 'zenoh: a history sample failed');
          }
        };
        session
          .get(`${key}?_max=${this.#depth}`, {
            target: zenoh.QueryTarget.ALL,
            consolidation: zenoh.ConsolidationMode.NONE,
            acceptReplies: zenoh.ReplyKeyExpr.ANY,
            timeout: zenoh.Duration.milliseconds.of(this.#timeoutMs),
            handler: [onReply, () => (clearTimeout(timer), resolve())],
          })
          .catch((error: unknown) => (clearTimeout(timer), reject(error)));
      });
    } catch (error) {
      this.#log.debug({ key, err: errorText(error) }, 'zenoh: a transient_local history query failed');
    } finally {
      this.queries.ended++;
    }
  }
}
