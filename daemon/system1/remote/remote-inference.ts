import type { MessagePort } from 'node:worker_threads';
import { Backoff, errorText, TimeoutError, withTimeout } from '../../util/index.ts';
import type { InferenceReply, InferenceRequest } from '../control/loop-protocol.ts';
import { checkedChunk, RemoteFailed } from './chunk-check.ts';
import type { RemoteClient } from './remote-client.ts';
import { RoundTrips, type RemoteStatus } from './remote-status.ts';

/** The wait after a failed request before the loop asks again, doubling per failure in a row up to RETRY_MAX_MS. */
const RETRY_FIRST_MS = 50;
const RETRY_MAX_MS = 1000;

export interface RemoteInferenceOptions {
  /** The inference side of the loop thread's channel: observations come in, chunks and failures go back. */
  port: MessagePort;
  client: RemoteClient;
  /** The action output's declared [chunk, size]. */
  chunk: readonly [number, number];
  /** policies.<name>.remote.timeout_ms. */
  timeoutMs: number;
  /** Called after each change of what status shows (a request settled, the link's state). */
  onStatus?: (status: RemoteStatus) => void;
}

/**
 * The inference side of a loop whose policy is served elsewhere, in place of the ONNX session: each observation the
 * loop thread sends goes to the server, and its chunk comes back to the loop on the same channel, stamped with the
 * observation's timestep, so the loop's chunker drops what is already past and queues the rest as a local chunk's.
 * A request that comes to nothing (the link down, its timeout, a reply of the wrong shape, dtype or size, NaN, a
 * server's error) goes back as a failure with its reason, and the time before the loop should ask again: the loop
 * holds meanwhile, never waiting. Status counts every failure by reason and keeps the round trips' percentiles.
 */
export class RemoteInference {
  readonly #port: MessagePort;
  readonly #client: RemoteClient;
  readonly #chunk: readonly [number, number];
  readonly #timeoutMs: number;
  readonly #onStatus: (status: RemoteStatus) => void;
  readonly #trips = new RoundTrips();
  #requests = 0;
  #chunks = 0;
  #failures: RemoteStatus['failures'] = {};
  #serverMs: number | null = null;
  #lastError: string | null = null;
  #lastErrorAtMs: number | null = null;
  #inFlight: Promise<void> = Promise.resolve();
  /** Failed requests in a row: the loop asks again no sooner than it says, so a failing server is not hammered. */
  readonly #retry = new Backoff({ firstMs: RETRY_FIRST_MS, maxMs: RETRY_MAX_MS });

  constructor(options: RemoteInferenceOptions) {
    const { port, client, chunk, timeoutMs, onStatus = () => undefined } = options;
    this.#port = port;
    this.#client = client;
    this.#chunk = chunk;
    this.#timeoutMs = timeoutMs;
    this.#onStatus = onStatus;
    port.on('message', (request: InferenceRequest) => {
      this.#inFlight = this.#request(request);
    });
    client.start(() => {
      // A connection lost between requests (a message nobody asked for) fails none of them: its reason is the news.
      if (client.state === 'down') this.#noteError(client.reason);
      this.#onStatus(this.status());
    });
  }

  status(): RemoteStatus {
    const [p50, p99] = this.#trips.percentiles(50, 99);
    const client = this.#client;
    return {
      endpoint: client.endpoint,
      state: client.state,
      reason: client.state === 'up' ? null : client.reason,
      requests: this.#requests,
      chunks: this.#chunks,
      failures: { ...this.#failures },
      rttP50Ms: p50 ?? null,
      rttP99Ms: p99 ?? null,
      serverMs: this.#serverMs,
      lastError: this.#lastError,
      lastErrorAtMs: this.#lastErrorAtMs,
      connects: client.connects,
    };
  }

  /** Lets go of the loop's channel and the link, once the request in flight (if any) has settled or given up. */
  async close(): Promise<void> {
    this.#port.close();
    await this.#client.close();
    await this.#inFlight;
  }

  async #request({ timestep, inputs }: InferenceRequest): Promise<void> {
    this.#requests++;
    const client = this.#client;
    const sent = performance.now();
    try {
      if (client.state !== 'up')
        throw new RemoteFailed('unreachable', `${client.endpoint} is ${client.state}: ${client.reason}`);
      const wire = await withTimeout(
        (signal) => client.infer(inputs, timestep, signal),
        this.#timeoutMs,
        `no reply within remote.timeout_ms (${this.#timeoutMs} ms)`,
      );
      const data = checkedChunk(wire, this.#chunk);
      const rttMs = performance.now() - sent;
      this.#trips.record(rttMs);
      this.#chunks++;
      this.#retry.reset();
      if (wire.serverMs !== undefined) this.#serverMs = wire.serverMs;
      this.#reply({ kind: 'chunk', timestep, data, dim: this.#chunk[1], inferenceUs: Math.round(rttMs * 1000) });
    } catch (error) {
      const failed =
        error instanceof RemoteFailed
          ? error
          : error instanceof TimeoutError
            ? new RemoteFailed('timeout', error.message)
            : new RemoteFailed('malformed', errorText(error));
      this.#failures[failed.reason] = (this.#failures[failed.reason] ?? 0) + 1;
      this.#noteError(`${failed.reason}: ${failed.message}`);
      this.#reply({
        kind: 'error',
        timestep,
        message: `${client.endpoint}: ${this.#lastError}`,
        retryInMs: Math.round(Math.max(client.retryInMs(), this.#retry.next())),
      });
    }
    this.#onStatus(this.status());
  }

  #noteError(text: string): void {
    this.#lastError = text;
    this.#lastErrorAtMs = Date.now();
  }

  #reply(reply: InferenceReply): void {
    // A chunk's buffer is this side's to give: transferred, not copied.
    this.#port.postMessage(reply, reply.kind === 'chunk' ? [reply.data.buffer as ArrayBuffer] : []);
  }
}
