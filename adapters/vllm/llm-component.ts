import type { Api, AssistantMessage, Model } from '@mariozechner/pi-ai';
import type { LlmSettings } from '../../daemon/config/index.ts';
import type { MetricFamily, MetricsProvider } from '../../daemon/contract/index.ts';
import type { ModelService } from '../../daemon/agent/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../daemon/lifecycle/index.ts';
import { usageEstimated } from './completion-stream.ts';
import { EndpointChain } from './endpoint-chain.ts';
import { LLM_QUERY_PREFIX, llmQueryHandler } from './llm-query.ts';
import { missingKey, resolveEndpoint } from './model.ts';
import type { ReplyLimits } from './reply-limits.ts';

/**
 * Component `llm`: the configured endpoints as one fallback chain (the agent's ModelService), and the bus
 * queries `ai/inference/llm/<endpoint>` and `ai/inference/llm/default` for other robot processes. With no
 * endpoint configured it still runs, degraded, so the agent can tell natural-language intents why.
 */
export class LlmComponent implements Component, ModelService, MetricsProvider {
  readonly name = 'llm';
  readonly chain: EndpointChain;
  #ctx: ComponentContext;
  #settings: LlmSettings;
  #unserve: (() => void)[] = [];
  #warnings: string[];

  constructor(ctx: ComponentContext, env: NodeJS.ProcessEnv = process.env) {
    this.#ctx = ctx;
    this.#settings = ctx.config.llm;
    const endpoints = this.#settings.endpoints.map((e) => resolveEndpoint(e, env));
    this.#warnings = this.#settings.endpoints
      .map((e) => missingKey(e, env))
      .filter((w): w is string => w !== undefined);
    const { max_tool_argument_bytes, max_reply_bytes } = this.#settings;
    this.chain = new EndpointChain({ endpoints, limits: { max_tool_argument_bytes, max_reply_bytes }, log: ctx.log });
  }

  get streamFn() {
    return this.chain.streamFn;
  }

  get primaryModel(): Model<Api> | undefined {
    return this.chain.primaryModel;
  }

  usageEstimated(message: AssistantMessage): boolean {
    return usageEstimated(message);
  }

  available() {
    return this.chain.available();
  }

  async start(): Promise<void> {
    for (const warning of this.#warnings) this.#ctx.log.warn({ warning }, 'llm endpoint has no API key');
    if (this.chain.endpoints.length === 0) return;
    // pi-ai loads its OpenAI provider on first use; load it now so the first request's connect timeout
    // measures the network, not module loading.
    await import('@mariozechner/pi-ai/openai-completions');
    if (!this.#settings.serve_queries) return;
    const { bus } = this.#ctx;
    for (const endpoint of this.chain.endpoints) {
      this.#unserve.push(
        bus.serve(`${LLM_QUERY_PREFIX}${endpoint.settings.name}`, llmQueryHandler([endpoint], this.#replyLimits())),
      );
    }
    if (!this.chain.endpoints.some((e) => e.settings.name === 'default')) {
      this.#unserve.push(
        bus.serve(`${LLM_QUERY_PREFIX}default`, llmQueryHandler(this.chain.endpoints, this.#replyLimits())),
      );
    }
  }

  #replyLimits(): ReplyLimits {
    const { max_tool_argument_bytes, max_reply_bytes } = this.#settings;
    return { max_tool_argument_bytes, max_reply_bytes };
  }

  async close(): Promise<void> {
    for (const unserve of this.#unserve.splice(0)) unserve();
  }

  health(): ComponentHealth {
    const endpoints = this.chain.health();
    const available = this.chain.available();
    if (!available.ok)
      return {
        state: 'degraded',
        reason: `${available.reason}; deterministic intents still run`,
        details: { endpoints },
      };
    return { state: 'running', details: { endpoints, warnings: this.#warnings } };
  }

  metrics(): MetricFamily[] {
    const health = this.chain.health();
    return [
      {
        name: 'auraison_llm_requests_total',
        help: 'Model requests sent, per endpoint (attempts, retries included).',
        type: 'counter',
        samples: health.map((h) => ({ labels: { endpoint: h.name }, value: h.requests })),
      },
      {
        name: 'auraison_llm_failures_total',
        help: 'Failed model request attempts, per endpoint.',
        type: 'counter',
        samples: health.map((h) => ({ labels: { endpoint: h.name }, value: h.failures })),
      },
      {
        name: 'auraison_llm_ttft_seconds',
        help: 'Time to first token of the last good answer, per endpoint.',
        type: 'gauge',
        samples: health
          .filter((h) => h.last_ttft_ms !== null)
          .map((h) => ({ labels: { endpoint: h.name }, value: h.last_ttft_ms! / 1000 })),
      },
    ];
  }
}
