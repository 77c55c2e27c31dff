import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

export interface RelayOptions {
  /** The daemon's /mcp. */
  url: URL;
  /** The API's bearer token, or undefined for none. */
  token: string | undefined;
  /** Where the relay says what went wrong (stdout is the protocol's). */
  warn: (text: string) => void;
  /** What to do when the daemon does not answer (start one, give --url), said once with the failure. */
  unreachableAdvice: string;
  /** The agent's side; default process.stdin and process.stdout. */
  stdin?: NodeJS.ReadableStream;
  stdout?: NodeJS.WritableStream;
}

/**
 * Relays MCP between stdio (a desktop agent that runs `auraison-edge mcp` as its server command) and the
 * running daemon's /mcp. Messages pass through unchanged: the daemon's gateway decides everything, so the
 * relay has no tools, no authority and no state beyond the session. A request the daemon could not be asked
 * is answered with a JSON-RPC error naming why, so the agent's call fails instead of hanging. Resolves when
 * either side closes, stdin's end included.
 */
export async function relayStdio({
  url,
  token,
  warn,
  unreachableAdvice,
  stdin = process.stdin,
  stdout = process.stdout,
}: RelayOptions): Promise<void> {
  const upstream = new StreamableHTTPClientTransport(url, {
    ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
  });
  const local = new StdioServerTransport(stdin as typeof process.stdin, stdout as typeof process.stdout);
  // Requests sent and not answered yet: stdin's end waits for them (a bounded time), so `... | auraison-edge mcp`
  // prints its answers.
  const outstanding = new Set<string | number>();
  let settled = () => {};
  const closed = new Promise<void>((resolve) => {
    local.onclose = resolve;
    upstream.onclose = resolve;
    // The SDK's stdio transport listens for data and errors only: without this, stdin's end left nothing pending
    // and Node ended the command with 13 (an unsettled top-level await) where its help promises 0.
    const ended = () => {
      if (outstanding.size === 0) return resolve();
      settled = () => outstanding.size === 0 && resolve();
      setTimeout(resolve, ANSWER_WAIT_MS).unref();
    };
    stdin.once('end', ended);
    stdin.once('close', ended);
  });
  const answered = (id: string | number | undefined) => {
    if (id !== undefined) outstanding.delete(id);
    settled();
  };
  const report = failureReporter(url, unreachableAdvice, warn);
  upstream.onmessage = (message) => {
    report.answered();
    void local.send(message).then(() => 'id' in message && !('method' in message) && answered(message.id));
  };
  // The transport both calls onerror and rejects send for one failure: the reporter says it once.
  let closing = false;
  // Closing aborts the daemon's event stream: that is the relay's own doing, not a failure to say.
  upstream.onerror = (error) => void (closing || report.failed(error));
  local.onerror = (error) => warn(`stdin: ${error.message}`);
  local.onmessage = (message) => {
    if ('id' in message && 'method' in message) outstanding.add(message.id);
    upstream.send(message).then(
      () => report.answered(),
      (error: Error) => {
        const why = report.failed(error);
        const id = 'id' in message && 'method' in message ? message.id : undefined;
        if (id === undefined) return;
        const refusal: JSONRPCMessage = {
          jsonrpc: '2.0',
          id,
          error: { code: -32000, message: `auraison-edge mcp: the daemon at ${url.href} did not answer: ${why}` },
        };
        void local.send(refusal).then(() => answered(id));
      },
    );
  };
  await upstream.start();
  await local.start();
  // Said at once when no daemon answers, before the agent's first request (or when it sends none).
  void probe(url, token).then((error) => error && report.failed(error));
  await closed;
  closing = true;
  await Promise.allSettled([upstream.close(), local.close()]);
}

/**
 * Says a failure to reach the daemon once, with what to do, rather than at every request (and twice for
 * each, as the transport reports one failure both ways); again only after the daemon has answered since.
 */
function failureReporter(url: URL, advice: string, warn: (text: string) => void) {
  let said: string | undefined;
  return {
    answered() {
      said = undefined;
    },
    /** Reports the failure unless it was the last one said; returns why, for the request's error. */
    failed(error: Error): string {
      const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
      const detail =
        typeof cause?.code === 'string' ? cause.code : typeof cause?.message === 'string' ? cause.message : undefined;
      const why =
        detail === 'ECONNREFUSED' ? 'connection refused' : detail ? `${error.message}: ${detail}` : error.message;
      // fetch's own failure: nothing answered at the address (refused, no such host, a timeout, a port fetch refuses).
      const unreachable = error.message === 'fetch failed' || error.name === 'TimeoutError';
      const text = unreachable
        ? `no daemon answers at ${url.href} (${why}): ${advice}; until one does, each request is answered with an error`
        : `${url.href}: ${why}`;
      if (text !== said) warn(text);
      said = text;
      return why;
    },
  };
}

/** Asks the daemon's /healthz once: the error when nothing answers, else undefined (any answer is a daemon). */
async function probe(url: URL, token: string | undefined): Promise<Error | undefined> {
  try {
    const reply = await fetch(new URL('/healthz', url), {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(PROBE_TIMEOUT_MS),
    });
    await reply.body?.cancel();
    return undefined;
  } catch (error) {
    return error as Error;
  }
}

/** How long stdin's end waits for the answers to requests already sent. */
const ANSWER_WAIT_MS = 10_000;

/** How long the daemon has to answer the start's probe. */
const PROBE_TIMEOUT_MS = 3000;
