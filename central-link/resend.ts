import Type from 'typebox';
import { errorText, Validator } from '../daemon/util/index.ts';

/** The schema of a resend request from central (down, `<prefix>/<fleet>/<robot>/resend`). */
export const RESEND_SCHEMA = 'auraison.resend/1';

const Seq = Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER });

/**
 * Central asks again for journal records it has not got although the broker acknowledged them: with several
 * `central serve` processes sharing the events subscription, the broker drops what was in flight to one that
 * is killed (mosquitto does, as MQTT 5 4.8.2 allows). Central sees the hole against the heartbeat's acked_seq.
 */
const ResendRequest = Type.Object({
  schema: Type.Literal(RESEND_SCHEMA),
  journal_id: Type.String({ minLength: 1, maxLength: 128 }),
  from_seq: Seq,
  to_seq: Seq,
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
  ts: Type.Optional(Type.String()),
});
const validator = new Validator(ResendRequest);

export interface ResendRequest {
  journal_id: string;
  from_seq: number;
  to_seq: number;
  reason?: string;
}

/** Parses a resend request: the request, or why it is refused. */
export function parseResend(payload: Buffer): ResendRequest | string {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch (error) {
    return `not JSON: ${errorText(error)}`;
  }
  const issue = validator.issues(value)[0];
  if (issue) return `${issue.path || 'payload'}: ${issue.message}`;
  const request = value as ResendRequest;
  if (request.to_seq < request.from_seq) return `to_seq ${request.to_seq} is before from_seq ${request.from_seq}`;
  return request;
}
