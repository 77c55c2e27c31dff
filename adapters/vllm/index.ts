export { backoffDelay, isRetryable } from './backoff.ts';
export {
  chatOnce,
  chatWithFallback,
  listModels,
  openaiClient,
  type ChatReply,
  type ChatRequest,
} from './chat-client.ts';
export { EndpointChain, type ChainStreamOptions, type EndpointHealth } from './endpoint-chain.ts';
export { LlmComponent } from './llm-component.ts';
export { LLM_QUERY_PREFIX, llmQueryHandler, LlmQueryRequest } from './llm-query.ts';
export { missingKey, resolveEndpoint, type Endpoint } from './model.ts';
export { withResponseSchema, type ResponseSchema } from './structured-output.ts';
export { checkEndpoints, describeFailure, formatCheck } from './llm-check.ts';
