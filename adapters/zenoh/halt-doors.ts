import type { Logger } from 'pino';
import type { Query } from '@eclipse-zenoh/zenoh-ts';
import { MessageCodec, type ResolvedType } from '../../daemon/bus/index.ts';
import type { OffLoopTake } from '../../daemon/contract/index.ts';
import { parseHaltQuery, HALT_QUERY } from '../../daemon/halt/index.ts';
import { RequestDedupe, type ServedReply } from './request-dedupe.ts';
import { answerServiceQuery, json, servedResponse } from './served-reply.ts';
import type { Handle, ZenohLink } from './zenoh-link.ts';
import { loadZenoh } from './zenoh-runtime.ts';
import { errorText } from '../../daemon/util/index.ts';

const JSON_ENCODING = 'application/json';

/** agent/stop served as a ROS 2 service (zenoh.services.serve): its key, and its Request and Response resolved. */
export interface HaltServiceDoor {
  service: string;
  /** The key the main thread would serve it on (Mapping.subscribeKey: clients of any type hash). */
  key: string;
  rosType: string;
  /** `<rosType>_Request` and `<rosType>_Response`, resolved by the daemon's registry: this thread loads none. */
  types: Record<string, ResolvedType>;
}

/** Where agent/stop is served on the stop listener's thread: as a queryable (zenoh.queries), as services. */
export interface HaltDoorsOptions {
  /** agent/stop as a plain queryable, when zenoh.queries covers it. */
  query: boolean;
  services: HaltServiceDoor[];
}

/**
 * agent/stop served on the stop listener's thread, on the session its zero commands use: a request is read as the
 * bus query reads it (parseStopQuery), taken there (the line, the off-loop zero commands, a message to the main
 * thread, which takes the daemon's stop once) and answered at once with what this thread did, as the listener
 * answers POST /stop (`{stopped, by, reason, at, zeroed, not_zeroed, taken_by_daemon}`); a ROS 2 service's
 * Response carries it as the main thread's would (a Trigger's message). A request that is not a stop is refused
 * with the main path's error, and stops nothing.
 */
export function serveHaltDoors(link: ZenohLink, options: HaltDoorsOptions, take: OffLoopTake, log: Logger): Handle[] {
  const handles: Handle[] = [];
  if (options.query)
    handles.push(link.declareQueryable(HALT_QUERY, (query) => void answerQuery(query, take, log), false));
  for (const door of options.services) {
    const codec = new MessageCodec({ generation: 0, resolve: (type) => resolved(door, type) });
    // Its own count: a retried request is answered from the first, and stops the robot once.
    const dedupe = new RequestDedupe({ counters: { duplicates: 0 } });
    const execute = (payload: Uint8Array) => haltByService(door, codec, payload, take, log);
    handles.push(link.declareQueryable(door.key, (query) => void answerServiceQuery(query, dedupe, execute), true));
  }
  return handles;
}

function resolved(door: HaltServiceDoor, type: string): ResolvedType {
  const found = door.types[type];
  if (!found) throw new Error(`${type}: not resolved for ${door.service} by the daemon`);
  return found;
}

/** What the main path's bus query fails with for this request: its error's text. */
const failed = (error: unknown) => `query ${HALT_QUERY} failed: ${errorText(error)}`;

/** The stop, and this thread's answer of it. */
async function halt(payload: Uint8Array, take: OffLoopTake): Promise<Uint8Array> {
  const order = parseHaltQuery(payload);
  const by = order.by ?? 'bus';
  const reason = order.reason ?? null;
  const { at, zeroed, failed: notZeroed } = await take({ by, reason });
  return json({
    stopped: true,
    by,
    reason,
    at,
    zeroed,
    not_zeroed: notZeroed,
    taken_by_daemon:
      'the daemon ends what drives the robot, sends the zero Twist to every bridge, latches (motion.stop.latch) and journals this stop; GET /status shows it',
  });
}

async function answerQuery(query: Query, take: OffLoopTake, log: Logger): Promise<void> {
  try {
    const reply = await halt(query.payload()?.toBytes() ?? new Uint8Array(), take).then(
      (payload) => ({ ok: true as const, payload }),
      (error: unknown) => ({ ok: false as const, error: failed(error) }),
    );
    if (reply.ok) await query.reply(HALT_QUERY, reply.payload, { encoding: JSON_ENCODING });
    else {
      // As the main thread's QueryServer answers a bus error.
      const text = JSON.stringify({ code: 'handler_error', message: reply.error });
      const { Encoding } = await loadZenoh();
      await query.replyErr(text, { encoding: Encoding.APPLICATION_JSON });
      log.debug({ query: HALT_QUERY }, 'stop listener: agent/stop was answered with an error');
    }
  } catch {
    // the link went down under the reply: the caller's get times out (the stop, if one, was taken)
  } finally {
    await query.finalize().catch(() => {});
  }
}

/** A service request: its fields as the bus query's JSON, the stop, and the Response (ServiceServer's, off-loop). */
async function haltByService(
  door: HaltServiceDoor,
  codec: MessageCodec,
  payload: Uint8Array,
  take: OffLoopTake,
  log: Logger,
): Promise<ServedReply> {
  try {
    const fields = codec.decode(`${door.rosType}_Request`, payload);
    let replyText = '';
    let error: string | undefined;
    try {
      replyText = new TextDecoder().decode(await halt(json(fields), take));
    } catch (failure) {
      error = failed(failure);
    }
    const reply: unknown = replyText === '' ? {} : JSON.parse(replyText);
    const response = servedResponse(codec, door.rosType, HALT_QUERY, { reply, replyText, error });
    if (error !== undefined) log.warn({ service: door.key, err: error }, 'zenoh: a service call failed');
    return { ok: true, payload: response };
  } catch (error) {
    log.warn({ service: door.key, err: errorText(error) }, 'zenoh: a service call failed');
    return { ok: false, error: errorText(error) };
  }
}
