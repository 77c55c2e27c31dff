import type { GraphQueries } from '../../daemon/contract/index.ts';
import { clipText } from '../../daemon/util/index.ts';
import type { ZenohLink } from './zenoh-link.ts';

/**
 * The daemon's queries to the graph over its link (PORTS.graphQueries). A key such as `ai/inference/vla/act` is covered
 * by the `ai/inference/vla/*` queryable of every daemon on the graph, this one's too, and each that does not serve the
 * name answers `no_queryable`: so the query resolves at the first reply that is no error, and only once none came
 * (at its final, or the timeout) is an error the answer. Errors that only say `no_queryable` mean nothing answered
 * (undefined); another error reply (a bus error of the serving daemon, a queryable's own) rejects with its text.
 */
export function graphQueries(link: ZenohLink): GraphQueries {
  return {
    down: () =>
      link.state === 'up'
        ? undefined
        : `the Zenoh link to ${link.endpoint} is ${link.state}${link.reason ? `: ${link.reason}` : ''}`,
    query: async (key, request, { timeoutMs }) => {
      const replies = await link.get(key, {
        payload: request.payload,
        encoding: request.encoding,
        timeoutMs,
        firstOk: true,
      });
      const ok = replies.find((r) => r.ok);
      if (ok) return { encoding: ok.sample.encoding().toString(), payload: ok.sample.payload().toBytes() };
      const errors = replies.flatMap((r) => (r.ok ? [] : [new TextDecoder().decode(r.payload)]));
      const real = errors.find((text) => !NO_QUERYABLE.test(text));
      if (real === undefined) return undefined;
      throw new Error(`${key} answered an error: ${clipText(real, 300)}`);
    },
  };
}

/** A QueryServer's error reply for a name its daemon's bus does not serve. */
const NO_QUERYABLE = /^\{"code":"no_queryable"/;
