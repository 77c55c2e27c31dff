import type { QueryPayload } from '../../daemon/bus/index.ts';

/** A bus query's request or reply carrying `value` as JSON. */
export function jsonQuery(value: unknown): QueryPayload {
  return { encoding: 'application/json', payload: new TextEncoder().encode(JSON.stringify(value)) };
}
