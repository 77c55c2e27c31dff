import type { Query } from '@eclipse-zenoh/zenoh-ts';
import { fillResponse, saysOutcome, type MessageCodec } from '../../daemon/bus/index.ts';
import { nowNs } from '../../daemon/util/index.ts';
import type { RequestDedupe, ServedReply } from './request-dedupe.ts';
import { decodeAttachment, encodeAttachment } from './rmw-zenoh-keys.ts';
import { decodeRos2ddsRequestHeader } from './ros2dds-request-header.ts';

/** JSON of a decoded message: 64-bit integers as decimal strings, byte arrays (an action's goal id) as arrays. */
export const json = (value: unknown) =>
  new TextEncoder().encode(
    JSON.stringify(value, (_, v: unknown) =>
      typeof v === 'bigint' ? v.toString() : ArrayBuffer.isView(v) ? Array.from(v as Uint8Array) : v,
    ),
  );

/**
 * Answers a request to a service the daemon serves, once per (client GID, sequence number) of its attachment: a
 * request seen again gets the first reply without `execute` running again. zenoh-bridge-ros2dds attaches the DDS
 * client's request header instead, which serves the same way. A request with neither (a plain Zenoh get) cannot be
 * told from another and runs each time. Used on the main loop (ServiceServer) and on the stop listener's thread.
 */
export async function answerServiceQuery(
  query: Query,
  dedupe: RequestDedupe,
  execute: (payload: Uint8Array) => Promise<ServedReply>,
): Promise<void> {
  const attached = query.attachment()?.toBytes() ?? new Uint8Array();
  // rmw_zenoh's attachment, or the request header zenoh-bridge-ros2dds attaches for a DDS client's request.
  const rmwZenoh = decodeAttachment(attached);
  const request = rmwZenoh ?? decodeRos2ddsRequestHeader(attached);
  const payload = query.payload()?.toBytes() ?? new Uint8Array();
  const run = () => execute(payload);
  try {
    const reply = await (request ? dedupe.answer(request.gid, request.sequence, run) : run());
    if (reply.ok) {
      // The bridge puts its request header back itself; only an rmw_zenoh client reads ours.
      const attachment = rmwZenoh
        ? encodeAttachment({ sequence: rmwZenoh.sequence, timestampNs: nowNs(), gid: rmwZenoh.gid })
        : undefined;
      await query.reply(query.keyExpr(), reply.payload, attachment ? { attachment } : undefined);
    } else await query.replyErr(reply.error);
  } catch {
    // the link went down under the reply: the client times out and may retry, and a retry is deduped
  } finally {
    await query.finalize().catch(() => {});
  }
}

/**
 * The service's Response, as CDR, for what its bus query answered: the reply's fields where the Response has them,
 * and a Trigger's success and message saying how the query went. Throws when there is none to give: the query
 * failed and the Response cannot say so (no success and message), or the fields are not of the Response.
 */
export function servedResponse(
  codec: MessageCodec,
  rosType: string,
  query: string,
  outcome: { reply: unknown; replyText: string; error: string | undefined },
): Uint8Array {
  const { reply, replyText, error } = outcome;
  const responseType = `${rosType}_Response`;
  // The response type's defaults: a Trigger's success and message then say what the query did.
  const template = codec.decode<Record<string, unknown>>(responseType, codec.encode(responseType, {}));
  // A response that cannot say it failed gets an error reply instead of a default that reads as an answer.
  if (error !== undefined && !saysOutcome(template)) throw new Error(error);
  // Checked as a request is: the writer takes an int64 as a decimal string (JSON's way past 2^53) for a zero.
  const check = codec.validator(responseType).check(fillResponse(template, reply, error, replyText));
  if (!check.ok) throw new Error(`the reply of ${query} is no ${responseType}: ${check.problem}`);
  return codec.encode(responseType, check.value);
}
