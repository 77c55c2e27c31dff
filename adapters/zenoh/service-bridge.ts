import type { Logger } from 'pino';
import type { Query } from '@eclipse-zenoh/zenoh-ts';
import type { Bus, MessageCodec, QueryPayload } from '../../daemon/bus/index.ts';
import { QueryError } from '../../daemon/bus/index.ts';
import { ClientAttachments } from './current-gid.ts';
import type { LocalEntity, LocalNode, Mapping } from './mapping.ts';
import { RequestDedupe, type ServedReply } from './request-dedupe.ts';
import { answerServiceQuery, json, servedResponse } from './served-reply.ts';
import type { Handle, ZenohLink } from './zenoh-link.ts';
import { errorText } from '../../daemon/util/index.ts';

const JSON_ENCODING = 'application/json';
const SERVICE_QOS = { reliability: 'reliable', durability: 'volatile', depth: 10 } as const;

export interface ServiceContext {
  link: ZenohLink;
  bus: Bus;
  codec: MessageCodec;
  mapping: Mapping;
  node: () => LocalNode;
  /** A new entity id of the daemon's node. */
  entityId: () => number;
  typeHash: (rosType: string) => string | undefined;
  timeoutMs: number;
  /** zenoh.max_sample_bytes: a larger response is answered with an error instead (the bridge drops the session). */
  maxReplyBytes: number;
  log: Logger;
}

export const serviceCounters = () => ({
  calls: 0,
  callFailures: 0,
  served: 0,
  serveFailures: 0,
  duplicates: 0,
  /** Responses over zenoh.max_sample_bytes, answered with an error. */
  oversize: 0,
});

/**
 * A ROS 2 service of the graph as a bus query of its name (`/add_two_ints`): the JSON request is encoded as
 * the service's Request in CDR and sent as the mapping's service call (rmw_zenoh's: a `get` to every complete
 * queryable, with the attachment; zenoh-bridge-ros2dds's: to the best matching one), and the first reply's CDR
 * is decoded back to JSON. Served while some node announces the service; the daemon's node announces its client
 * meanwhile.
 */
export class ServiceClient {
  readonly name: string;
  #ctx: ServiceContext;
  #rosType: string;
  #key: string;
  #attachments: ClientAttachments | undefined;
  #unserve: () => void;
  #token: Handle;

  constructor(
    ctx: ServiceContext,
    name: string,
    rosType: string,
    typeHash: string | undefined,
    counters: ReturnType<typeof serviceCounters>,
  ) {
    this.#ctx = ctx;
    this.name = name;
    this.#rosType = rosType;
    this.#key = ctx.mapping.dataKey(name, rosType, typeHash);
    const entity: LocalEntity = { kind: 'client', entityId: ctx.entityId(), name, rosType, typeHash, qos: SERVICE_QOS };
    const token = () => ctx.mapping.entityToken(ctx.node(), entity);
    if (ctx.mapping.attachments) this.#attachments = new ClientAttachments({ zid: () => ctx.node().zid, token });
    this.#token = ctx.link.declareToken(token);
    this.#unserve = ctx.bus.serve(name, async (request) => {
      try {
        const reply = await this.call(request);
        counters.calls++;
        return reply;
      } catch (error) {
        counters.callFailures++;
        throw error;
      }
    });
  }

  async close(): Promise<void> {
    this.#unserve();
    await this.#token.close();
  }

  async call(request: QueryPayload): Promise<QueryPayload> {
    const { codec, link, timeoutMs } = this.#ctx;
    let fields: unknown;
    try {
      fields = request.payload.length === 0 ? {} : JSON.parse(new TextDecoder().decode(request.payload));
    } catch (error) {
      throw new QueryError('bad_request', `the request to ${this.name} is not JSON: ${errorText(error)}`);
    }
    // The writer trusts its input: an unknown field or a 64-bit integer as a decimal string (how JSON carries one past
    // 2^53) would be written as the field's zero and the service called with it.
    const check = codec.validator(`${this.#rosType}_Request`).check(fields);
    if (!check.ok)
      throw new QueryError(
        'bad_request',
        `the request to ROS service ${this.name} (${this.#rosType}) is not valid: ${check.problem}`,
      );
    const payload = codec.encode(`${this.#rosType}_Request`, check.value);
    const attachment = this.#attachments?.next();
    const replies = await link.get(this.#key, {
      payload,
      timeoutMs,
      allComplete: this.#ctx.mapping.completeServers,
      // A service has one server, and its answer is its first reply. The query's final may come much later: the
      // remote-api bridge writes it as a second small frame on a socket with Nagle on, held for Linux's 40 ms
      // delayed ACK, and a server's callback may return long after it replied.
      firstReply: true,
      ...(attachment ? { attachment } : {}),
    });
    const first = replies[0];
    if (first === undefined) throw new QueryError('timeout', `no reply from ${this.name} within ${timeoutMs} ms`);
    if (!first.ok)
      throw new QueryError(
        'handler_error',
        `${this.name} answered an error: ${new TextDecoder().decode(first.payload)}`,
      );
    const response = codec.decode(`${this.#rosType}_Response`, first.sample.payload().toBytes());
    return { encoding: JSON_ENCODING, payload: json(response) };
  }
}

/** A service served from a bus query: its name and type, the query, and what it answers without asking the bus. */
export interface ServedEntry {
  service: string;
  type: string;
  query: string;
  /** A reply given here instead of the bus query's (a goal refused while the stop is latched), or undefined. */
  answerHere?: (request: Record<string, unknown>) => Record<string, unknown> | undefined;
}

/**
 * A bus query served as a ROS 2 service (rmw_zenoh): a complete queryable on the service's key and the
 * server's liveliness token. The CDR request is decoded to JSON for the bus query, whose JSON reply is encoded
 * as the service's Response; the reply's attachment carries the request's sequence number and client GID,
 * as rmw_zenoh's clients match replies by them.
 */
export class ServiceServer {
  /** The key its queryable is on: clients of any type hash. */
  readonly key: string;
  /** The bus query it serves. */
  readonly query: string;
  #queryable: Handle | undefined;
  #token: Handle | undefined;
  #ctx: ServiceContext;
  #rosType: string;
  #query: string;
  #counters: ReturnType<typeof serviceCounters>;
  #dedupe: RequestDedupe;
  #answerHere: ServedEntry['answerHere'];

  constructor(ctx: ServiceContext, entry: ServedEntry, counters: ReturnType<typeof serviceCounters>) {
    this.#ctx = ctx;
    this.#rosType = entry.type;
    this.#query = entry.query;
    this.#answerHere = entry.answerHere;
    this.query = entry.query;
    this.#counters = counters;
    this.#dedupe = new RequestDedupe({ counters });
    const typeHash = ctx.typeHash(entry.type);
    // Clients of any hash are answered (they query the key with theirs): a Humble client's is
    // TypeHashNotSupported, and the token announces the daemon's own.
    this.key = ctx.mapping.subscribeKey(entry.service, entry.type);
    const entity: LocalEntity = {
      kind: 'service',
      entityId: ctx.entityId(),
      name: entry.service,
      rosType: entry.type,
      typeHash,
      qos: SERVICE_QOS,
    };
    this.serveHere(true);
    if (ctx.mapping.announces(entry.service))
      this.#token = ctx.link.declareToken(() => ctx.mapping.entityToken(ctx.node(), entity));
  }

  /**
   * Declares its queryable (`here`), or undeclares it while another serves the key: agent/stop's, while the stop
   * listener's thread serves it (OffLoopStop). The service's token stays: it is the same service to its clients.
   */
  serveHere(here: boolean): void {
    if (here === (this.#queryable !== undefined)) return;
    if (here) this.#queryable = this.#ctx.link.declareQueryable(this.key, (query) => void this.#answer(query), true);
    else {
      void this.#queryable!.close();
      this.#queryable = undefined;
    }
  }

  async close(): Promise<void> {
    await Promise.all([this.#queryable?.close(), this.#token?.close()]);
  }

  /** A request, answered once per client's sequence number (answerServiceQuery). */
  #answer(query: Query): Promise<void> {
    return answerServiceQuery(query, this.#dedupe, (payload) => this.#execute(payload));
  }

  /** Runs the bus query for one request: the Response's CDR, or why there is none. */
  async #execute(payload: Uint8Array): Promise<ServedReply> {
    const { codec, bus, timeoutMs } = this.#ctx;
    try {
      const fields = codec.decode(`${this.#rosType}_Request`, payload);
      let reply: unknown;
      let replyText = '';
      let error: string | undefined;
      try {
        const here = this.#answerHere?.(fields);
        if (here !== undefined) {
          reply = here;
          replyText = JSON.stringify(here);
        } else {
          const answer = await bus.query(
            this.#query,
            { encoding: JSON_ENCODING, payload: json(fields) },
            { timeoutMs },
          );
          if (answer.encoding === JSON_ENCODING) {
            replyText = new TextDecoder().decode(answer.payload);
            reply = replyText === '' ? {} : JSON.parse(replyText);
          } else replyText = `${answer.payload.byteLength} bytes of ${answer.encoding}`;
        }
      } catch (failure) {
        error = errorText(failure);
      }
      const response = servedResponse(codec, this.#rosType, this.#query, { reply, replyText, error });
      if (response.byteLength > this.#ctx.maxReplyBytes) {
        this.#counters.oversize++;
        throw new Error(
          `the response of ${this.#query} is ${response.byteLength} bytes, more than the daemon's zenoh.max_sample_bytes (${this.#ctx.maxReplyBytes}): the remote-api bridge closes its WebSocket on a frame over 16 MiB`,
        );
      }
      if (error === undefined) this.#counters.served++;
      else this.#fail(error);
      return { ok: true, payload: response };
    } catch (error) {
      this.#fail(errorText(error));
      return { ok: false, error: errorText(error) };
    }
  }

  #fail(error: string): void {
    this.#counters.serveFailures++;
    this.#ctx.log.warn({ service: this.key, err: error }, 'zenoh: a service call failed');
  }
}
