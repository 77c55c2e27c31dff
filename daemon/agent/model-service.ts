import type {
  Api,
  AssistantMessage,
  AssistantMessageEventStream,
  Context,
  Model,
  SimpleStreamOptions,
} from '@mariozechner/pi-ai';

/**
 * What the agent needs of System 2 (the `llm` component offers it): a pi stream function, the model to put
 * in pi's Agent state, and whether any endpoint may answer now, so a natural-language intent fails fast
 * with the reason instead of waiting on timeouts.
 */
export interface ModelService {
  readonly streamFn: (
    model: Model<Api>,
    context: Context,
    options?: SimpleStreamOptions,
  ) => AssistantMessageEventStream;
  readonly primaryModel: Model<Api> | undefined;
  available(): { ok: true } | { ok: false; reason: string };
  /** Whether a reply's usage is an estimate (its server sent none): the token quota says so when it ends a run. */
  usageEstimated?(message: AssistantMessage): boolean;
}
