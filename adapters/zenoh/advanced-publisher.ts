import { randomBytes } from 'node:crypto';
import type { Query, Timestamp, ZenohId } from '@eclipse-zenoh/zenoh-ts';
import { publisherCacheKey, samplesAsked } from './advanced-keys.ts';
import type { Handle, ZenohLink } from './zenoh-link.ts';
import { loadZenoh } from './zenoh-runtime.ts';

export interface CachedSample {
  data: Uint8Array;
  attachment: Uint8Array | undefined;
  timestamp?: Timestamp | undefined;
}

/** Unix milliseconds as NTP64: seconds in the high 32 bits, the fraction in the low 32. */
function ntp64(ms: number): bigint {
  const seconds = BigInt(Math.floor(ms / 1000));
  return (seconds << 32n) | BigInt(Math.floor(((ms % 1000) / 1000) * 2 ** 32));
}

/**
 * The zenoh-ext advanced publisher's side of a transient_local topic, as zenoh-plugin-ros2dds declares it for
 * one (cache and publisher_detection, no sample miss detection): a queryable at `<key>/@adv/pub/<zid>/uhlc/_`
 * answering a history query with the topic's last samples under the topic's own key, and a liveliness token
 * on the same key so that subscribers that were there first detect the publisher and ask it. zenoh-ts cannot
 * put a sample's source info (sequence number), so the samples are unsequenced (`uhlc`): a subscriber takes
 * them in the order they come, and the rmw_zenoh attachment's sequence number is what orders and dedupes them.
 * The samples themselves are the caller's (`samples()`, oldest first).
 */
export class AdvancedPublisherCache {
  #handles: Handle[] = [];
  #clock: Promise<ZenohId>;
  #last = 0n;

  constructor(options: {
    link: ZenohLink;
    /** The topic's data key. */
    key: string;
    samples: () => readonly CachedSample[];
    onServed: (samples: number) => void;
  }) {
    const { link, key, samples, onServed } = options;
    // The subscriber keeps one order per id: the id in the key and in the samples' timestamps is one, this
    // publisher's own, and outlives reconnects, so a sample put again after one is not delivered twice.
    const id = randomBytes(16);
    id[0]! |= 1;
    id[15]! |= 1;
    this.#clock = loadZenoh().then((zenoh) => new zenoh.ZenohId(id));
    const cacheKey = publisherCacheKey(key, Buffer.from(id).reverse().toString('hex'));
    this.#handles.push(
      link.declareQueryable(cacheKey, (query) => void serve(query, key, samples(), onServed), false),
      link.declareToken(() => cacheKey),
    );
  }

  /**
   * A timestamp for the next sample, later than the last: zenoh-ext's subscriber delivers an unsequenced
   * sample once, and in order, by its timestamp, whether it comes live or from the cache.
   */
  async stamp(): Promise<Timestamp> {
    const zenoh = await loadZenoh();
    const now = ntp64(Date.now());
    this.#last = now > this.#last ? now : this.#last + 1n;
    return new zenoh.Timestamp(await this.#clock, this.#last);
  }

  async close(): Promise<void> {
    await Promise.all(this.#handles.map((h) => h.close()));
  }
}

async function serve(
  query: Query,
  key: string,
  cached: readonly CachedSample[],
  onServed: (samples: number) => void,
): Promise<void> {
  try {
    const asked = samplesAsked(query.parameters().toString(), cached.length);
    for (const { data, attachment, timestamp } of cached.slice(cached.length - asked)) {
      await query.reply(key, data, { ...(attachment ? { attachment } : {}), ...(timestamp ? { timestamp } : {}) });
    }
    onServed(asked);
  } finally {
    await query.finalize();
  }
}
