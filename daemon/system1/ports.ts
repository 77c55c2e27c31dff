import type { Port } from '../contract/index.ts';
import type { DecodePool } from './vision/decode-pool.ts';

/** What System 1's components offer one another (see Port). */
export const SYSTEM1_PORTS = {
  decodePool: { name: 'frame decoding (the cameras component)' } as Port<DecodePool>,
} as const;
