import { MessageChannel, type MessagePort } from 'node:worker_threads';
import type { PolicySettings } from '../../config/index.ts';
import type { GraphQueries } from '../../contract/index.ts';
import type { RemoteInference } from '../remote/remote-inference.ts';
import type { RemoteStatus } from '../remote/remote-status.ts';
import { zenohInference } from '../remote/zenoh-client.ts';
import { InferenceThread } from './inference-thread.ts';
import type { LoopProcess } from './loop-process.ts';
import type { InferenceReply } from './loop-protocol.ts';

export interface LoopInferenceOptions {
  policyName: string;
  policy: PolicySettings;
  /** The output whose chunk goes back. */
  output: string;
  /** Tests only: the module a local policy's inference thread runs (see ControlLoopOptions.inferenceWorker). */
  entry?: URL;
  /** The Zenoh link's queries, for a policy served over Zenoh. */
  graphQueries?: () => GraphQueries | undefined;
  /** Called once if the inference thread dies after it was ready, other than by close(). */
  onDeath: (error: Error) => void;
}

/**
 * The inference side of an async loop, held by the main thread, whatever serves its policy: a thread of its own
 * (InferenceThread: the ONNX session, or an openpi server's client), or for a policy another daemon serves over Zenoh
 * a RemoteInference on this thread, where the Zenoh link is. Either serves the loop thread's channel; callers close
 * it after the loop thread has stopped.
 */
export class LoopInference {
  readonly #thread: InferenceThread | undefined;
  readonly #here: RemoteInference | undefined;
  readonly #relay: MessagePort | undefined;

  private constructor(parts: { thread?: InferenceThread; here?: RemoteInference; relay?: MessagePort }) {
    this.#thread = parts.thread;
    this.#here = parts.here;
    this.#relay = parts.relay;
  }

  /**
   * For a loop thread: its inference side, started (a session loaded, so a bad model fails the start, not the loop),
   * and the loop thread's end of their channel.
   */
  static async start(options: LoopInferenceOptions): Promise<{ inference: LoopInference; port: MessagePort }> {
    const { policyName, policy, output, entry, onDeath } = options;
    const { port1, port2 } = new MessageChannel();
    if (policy.remote?.zenoh !== undefined)
      return { inference: new LoopInference({ here: zenohHere(options, port2) }), port: port1 };
    const thread = await InferenceThread.start({ policyName, policy, output, port: port2, entry, onDeath }).catch(
      (error: unknown) => {
        port1.close();
        throw error;
      },
    );
    return { inference: new LoopInference({ thread }), port: port1 };
  }

  /**
   * For a loop process, which runs its inference thread itself: only a policy served over Zenoh is asked here, the
   * process having no Zenoh link, its loop thread's requests and chunks relayed over the fork channel. Undefined for
   * any other policy.
   */
  static forProcess(options: LoopInferenceOptions, loop: LoopProcess): LoopInference | undefined {
    if (options.policy.remote?.zenoh === undefined) return undefined;
    const { port1, port2 } = new MessageChannel();
    const here = zenohHere(options, port2);
    port1.on('message', (reply: InferenceReply) => loop.inferenceReply(reply));
    loop.on('inferenceRequest', (request) => port1.postMessage(request));
    return new LoopInference({ here, relay: port1 });
  }

  /** Its remote policy's link and round trips; undefined for a policy run here. */
  get remote(): RemoteStatus | undefined {
    return this.#here?.status() ?? this.#thread?.remote;
  }

  /**
   * Lets go of the channel and the policy; true once done. An inference thread in a run is left to finish it after
   * `timeoutMs` (false): terminating it inside a run aborts the process (see closeWorker).
   */
  async close(timeoutMs: number): Promise<boolean> {
    this.#relay?.close();
    await this.#here?.close();
    return this.#thread ? this.#thread.close(timeoutMs) : true;
  }
}

function zenohHere(options: LoopInferenceOptions, port: MessagePort): RemoteInference {
  const { policyName, policy, output, graphQueries = () => undefined } = options;
  return zenohInference({ policyName, policy, output, port, queries: graphQueries });
}
