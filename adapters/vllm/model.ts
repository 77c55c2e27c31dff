import type { Model } from '@mariozechner/pi-ai';
import type { LlmEndpointSettings } from '../../daemon/config/index.ts';
import { splitCredentials } from '../../daemon/util/index.ts';

/** A configured endpoint, resolved: its pi-ai model (custom baseUrl) and its API key from the environment. */
export interface Endpoint {
  readonly settings: LlmEndpointSettings;
  readonly model: Model<'openai-completions'>;
  /** vLLM and llama.cpp accept any key unless started with one, so "none" stands in when no key is set. */
  readonly apiKey: string;
}

/**
 * A pi-ai model for an OpenAI-compatible endpoint. Compat flags are set rather than guessed from the URL:
 * local servers don't know the `developer` role, `store` or `reasoning_effort`, and llama.cpp and Ollama
 * only read `max_tokens`.
 */
export function resolveEndpoint(settings: LlmEndpointSettings, env: NodeJS.ProcessEnv = process.env): Endpoint {
  const key = settings.api_key_env ? env[settings.api_key_env] : undefined;
  const { url, authorization } = splitCredentials(settings.base_url);
  const model: Model<'openai-completions'> = {
    id: settings.model,
    name: `${settings.name} (${settings.model})`,
    api: 'openai-completions',
    provider: `edge-${settings.name}`,
    baseUrl: url.replace(/\/+$/, ''),
    // pi-ai and the openai client both send these after (over) their own Bearer header.
    ...(authorization ? { headers: { Authorization: authorization } } : {}),
    reasoning: false,
    input: ['text'],
    cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
    contextWindow: settings.context_window,
    maxTokens: settings.max_tokens,
    compat: {
      supportsStore: false,
      supportsDeveloperRole: false,
      supportsReasoningEffort: false,
      supportsUsageInStreaming: true,
      maxTokensField: 'max_tokens',
      supportsStrictMode: false,
    },
  };
  return { settings, model, apiKey: key && key.length > 0 ? key : 'none' };
}

/** Throws when an endpoint names a key variable that is unset: a missing secret should be loud. */
export function missingKey(settings: LlmEndpointSettings, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (!settings.api_key_env) return undefined;
  // A value that is no variable name is most likely the key itself (`api_key_env: ${KEY}`): never echo it.
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(settings.api_key_env)) {
    return `llm.endpoints[${settings.name}].api_key_env is not an environment variable name (value not shown): it must name the variable that holds the key (e.g. VLLM_API_KEY), not hold the key itself`;
  }
  const value = env[settings.api_key_env];
  return value ? undefined : `llm.endpoints[${settings.name}].api_key_env: $${settings.api_key_env} is not set`;
}
