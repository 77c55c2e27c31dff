/**
 * The key expressions of zenoh-ext's advanced publisher and subscriber (zenoh-ext 1.10, advanced_publisher.rs,
 * advanced_subscriber.rs, advanced_cache.rs), which rmw_zenoh (from 0.2.2) and zenoh-plugin-ros2dds 1.10 use for
 * transient_local topics. A publisher's cache answers, and its liveliness token announces it, at
 * `<key>/@adv/pub/<zid>/<eid>/<meta>`: `<eid>` is the publisher's entity id when its samples carry sequence numbers
 * (sample miss detection), `uhlc` when they do not; `<meta>` is `_` unless the publisher gave metadata. A
 * subscriber asks every cache with `<key>/@adv/**`, the parameter `_max=<depth>`, and `_anyke` (replies come under
 * the topic's own key, which does not match the query's), and watches `<key>/@adv/pub/**` for late publishers.
 */

/** The `<eid>` of a publisher whose samples carry no sequence number (zenoh-ext's `KE_UHLC`). */
export const UNSEQUENCED = 'uhlc';
/** The `<meta>` of an endpoint without metadata (zenoh-ext's `KE_EMPTY`, kept for a routing matching bug). */
export const NO_META = '_';

/** Where a publisher's cache answers and its token is declared. */
export function publisherCacheKey(key: string, zid: string, eid: string = UNSEQUENCED): string {
  return `${key}/@adv/pub/${zid}/${eid}/${NO_META}`;
}

/** The token of a subscriber with `subscriber_detection`. */
export function subscriberToken(key: string, zid: string, eid: number): string {
  return `${key}/@adv/sub/${zid}/${eid}/${NO_META}`;
}

/** What a subscriber asks at start: every cache of the topic. */
export function historyKey(key: string): string {
  return `${key}/@adv/**`;
}

/** The liveliness tokens of the topic's advanced publishers, for late-publisher detection. */
export function publisherDetectionKey(key: string): string {
  return `${key}/@adv/pub/**`;
}

export interface AdvancedEndpointKey {
  /** The topic's key (zenoh-ext's `remaining`). */
  key: string;
  entity: 'pub' | 'sub';
  zid: string;
  /** A decimal entity id, or `uhlc`. */
  eid: string;
  meta: string;
}

/** `${remaining:**}/@adv/${entity:*}/${zid:*}/${eid:*}/${meta:**}`, or undefined when `key` is not one. */
export function parseAdvancedKey(key: string): AdvancedEndpointKey | undefined {
  const at = key.lastIndexOf('/@adv/');
  if (at <= 0) return undefined;
  const [entity, zid, eid, ...meta] = key.slice(at + '/@adv/'.length).split('/');
  if ((entity !== 'pub' && entity !== 'sub') || !zid || !eid || meta.length === 0) return undefined;
  if (!/^[0-9a-f]{1,32}$/.test(zid) || !(eid === UNSEQUENCED || /^[0-9]+$/.test(eid))) return undefined;
  return { key: key.slice(0, at), entity, zid, eid, meta: meta.join('/') };
}

/**
 * How many of a cache's samples a query asks: the last `_max` (all when absent), and none when it asks a range of
 * sequence numbers (`_sn`), which unsequenced samples never match, as in advanced_cache.rs.
 */
export function samplesAsked(parameters: string, cached: number): number {
  const values = new Map<string, string>();
  for (const part of parameters.split(/[;\n]/)) {
    const eq = part.indexOf('=');
    values.set(eq < 0 ? part : part.slice(0, eq), eq < 0 ? '' : part.slice(eq + 1));
  }
  const sn = values.get('_sn');
  if (sn !== undefined && sn !== '..' && sn !== '') return 0;
  const max = values.get('_max');
  if (max === undefined || !/^[0-9]+$/.test(max)) return cached;
  return Math.min(Number(max), cached);
}
