import type { Logger } from 'pino';
import type { Query } from '@eclipse-zenoh/zenoh-ts';
import { QueryError, type Bus } from '../../daemon/bus/index.ts';
import type { Handle, ZenohLink } from './zenoh-link.ts';
import { loadZenoh } from './zenoh-runtime.ts';
import { errorText } from '../../daemon/util/index.ts';

export const OCTET_STREAM = 'application/octet-stream';

export type QueryServerCounters = {
  queries: number;
  answered: number;
  errors: number;
  /** Replies over max_sample_bytes, answered with an error instead (the bridge would drop the session). */
  oversize: number;
};

/**
 * Bus queries served as Zenoh queryables under the same key (`ai/inference/vla/*` answers
 * `ai/inference/vla/pick`): a Zenoh `get` carries the same request and reply bytes, with the same encodings,
 * as the bus query and as the HTTP API's body (JSON `application/json`, tensors, CDR). A bus error (nothing
 * serves the name, a timeout, a handler's failure) comes back as a Zenoh error reply in JSON:
 * `{"code": "no_queryable", "message": "..."}`.
 */
export class QueryServer {
  readonly counters: QueryServerCounters = { queries: 0, answered: 0, errors: 0, oversize: 0 };
  #handles: Handle[];
  #bus: Bus;
  #timeoutMs: number;
  #maxReplyBytes: number;
  #log: Logger;
  #passes: (name: string) => boolean;

  constructor(options: {
    link: ZenohLink;
    bus: Bus;
    keys: readonly string[];
    timeoutMs: number;
    maxReplyBytes: number;
    log: Logger;
    /** A name a glob of `keys` covers that another queryable answers now (agent/stop: the stop listener's thread). */
    passes?: (name: string) => boolean;
  }) {
    const { link, bus, keys, timeoutMs, maxReplyBytes, log, passes = () => false } = options;
    this.#passes = passes;
    this.#bus = bus;
    this.#timeoutMs = timeoutMs;
    this.#maxReplyBytes = maxReplyBytes;
    this.#log = log;
    // Not complete: a glob stands for names that may not be served (a policy not loaded).
    this.#handles = keys.map((key) => link.declareQueryable(key, (query) => void this.#answer(query), false));
  }

  async close(): Promise<void> {
    await Promise.all(this.#handles.map((h) => h.close()));
  }

  async #answer(query: Query): Promise<void> {
    const name = query.keyExpr().toString();
    // Finalized with no reply of its own: the caller gets the other queryable's one answer.
    if (this.#passes(name)) return void (await query.finalize().catch(() => {}));
    this.counters.queries++;
    const request = {
      encoding: query.encoding()?.toString() ?? OCTET_STREAM,
      payload: query.payload()?.toBytes() ?? new Uint8Array(),
    };
    try {
      const reply = await this.#bus.query(name, request, { timeoutMs: this.#timeoutMs });
      if (reply.payload.byteLength > this.#maxReplyBytes) {
        this.counters.oversize++;
        throw new QueryError(
          'handler_error',
          `the reply of ${name} is ${reply.payload.byteLength} bytes, more than the daemon's zenoh.max_sample_bytes (${this.#maxReplyBytes}): the remote-api bridge closes its WebSocket on a frame over 16 MiB; ask for less, or get it over the HTTP API`,
        );
      }
      await query.reply(name, reply.payload, { encoding: reply.encoding });
      this.counters.answered++;
    } catch (error) {
      this.counters.errors++;
      const code = error instanceof QueryError ? error.code : 'handler_error';
      const text = JSON.stringify({ code, message: errorText(error) });
      const { Encoding } = await loadZenoh();
      await query.replyErr(text, { encoding: Encoding.APPLICATION_JSON }).catch(() => {});
      this.#log.debug({ query: name, code }, 'zenoh: a query was answered with an error');
    } finally {
      await query.finalize().catch(() => {}); // the link went down meanwhile: the caller's get times out
    }
  }
}
