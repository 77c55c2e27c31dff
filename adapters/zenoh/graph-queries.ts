import type { GraphQueries } from '../../daemon/contract/index.ts';
import { clipText } from '../../daemon/util/index.ts';
import type { ZenohLink } from './zenoh-link.ts';

/**
 * The daemon's queries to the graph over its link (PORTS.graphQueries): the first reply of the best matching
 * queryable (none: nothing answered by its final or the timeout), as a service call takes it (see ServiceClient: the
 * query's final can come a delayed ACK later). A queryable's error reply (a bus error the other daemon's
 * QueryServer sends as JSON `{code, message}`) rejects with its text.
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
        firstReply: true,
      });
      const first = replies[0];
      if (first === undefined) return undefined;
      if (!first.ok)
        throw new Error(`${key} answered an error: ${clipText(new TextDecoder().decode(first.payload), 300)}`);
      return { encoding: first.sample.encoding().toString(), payload: first.sample.payload().toBytes() };
    },
  };
}
