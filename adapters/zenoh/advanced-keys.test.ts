import { describe, expect, it } from 'vitest';
import { parseAdvancedKey, publisherCacheKey, samplesAsked } from './advanced-keys.ts';

describe("zenoh-ext's advanced keys", () => {
  it('parses the token a reference AdvancedPublisher declared (eclipse-zenoh 1.10.1), and the daemon builds its own alike', () => {
    // As printed by advanced_peer.py's publisher with sample miss detection: `<eid>` is its entity id.
    expect(parseAdvancedKey('0/map/T/H/@adv/pub/2071c6f9e28052feca67d04f849e5ac8/6/_')).toEqual({
      key: '0/map/T/H',
      entity: 'pub',
      zid: '2071c6f9e28052feca67d04f849e5ac8',
      eid: '6',
      meta: '_',
    });
    expect(publisherCacheKey('map', 'a1')).toBe('map/@adv/pub/a1/uhlc/_');
    expect(parseAdvancedKey('map/@adv/pub/a1/uhlc/_')?.eid).toBe('uhlc');
    expect(parseAdvancedKey('0/map/T/H')).toBeUndefined();
    expect(parseAdvancedKey('0/map/@adv/pub/not-a-zid/6/_')).toBeUndefined();
  });

  it('answers `_max` with the last samples, a `_sn` range with none (unsequenced samples never match one)', () => {
    expect(samplesAsked('_max=2;_anyke', 5)).toBe(2);
    expect(samplesAsked('_max=9', 5)).toBe(5);
    expect(samplesAsked('', 5)).toBe(5);
    expect(samplesAsked('_sn=3..', 5)).toBe(0);
    expect(samplesAsked('_sn=..', 5)).toBe(5);
  });
});
