import type { MessageCodec, QueryPayload } from '../bus/index.ts';
import { errorText } from '../util/index.ts';

export const JSON_ENCODING = 'application/json';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** `value` as JSON text: 64-bit integers (bigint) as decimal strings, typed arrays (a decoded int32[]) as arrays. */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'bigint' ? v.toString() : ArrayBuffer.isView(v) ? Array.from(v as unknown as ArrayLike<number>) : v,
  );
}

/** A query payload of `value` as JSON (jsonText). */
export function jsonPayload(value: unknown): QueryPayload {
  return { encoding: JSON_ENCODING, payload: encoder.encode(jsonText(value)) };
}

/** The JSON object a query carries, or an Error naming `what` when it carries anything else. */
export function jsonObject(what: string, payload: QueryPayload): Record<string, unknown> {
  if (payload.encoding !== JSON_ENCODING) throw new Error(`${what} must be ${JSON_ENCODING}, got ${payload.encoding}`);
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(payload.payload));
  } catch (error) {
    throw new Error(`${what} is not JSON: ${errorText(error)}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${what} must be a JSON object`);
  return value as Record<string, unknown>;
}

/** builtin_interfaces/Time of a wall-clock time in ms. */
export function timeMessage(ms: number): { sec: number; nanosec: number } {
  const sec = Math.floor(ms / 1000);
  return { sec, nanosec: Math.round((ms - sec * 1000) * 1e6) };
}

/** `message` checked against `type` (fields named, integers in range), or an Error naming `what` and the problem. */
export function checkedMessage(
  codec: MessageCodec,
  type: string,
  message: unknown,
  what: string,
): Record<string, unknown> {
  const check = codec.validator(type).check(message);
  if (!check.ok) throw new Error(`${what}: ${check.problem}`);
  return check.value as Record<string, unknown>;
}
