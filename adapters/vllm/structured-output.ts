import type { LlmEndpointSettings } from '../../daemon/config/sections/system2.ts';

/** A JSON schema the completion must match (structured output). */
export interface ResponseSchema {
  name: string;
  schema: Record<string, unknown>;
}

/**
 * Adds a structured-output request to a chat-completions body: OpenAI's `response_format` json_schema, or
 * vLLM's `structured_outputs: {json}` (vLLM >= 0.10.2).
 */
export function withResponseSchema(body: Record<string, unknown>, schema: ResponseSchema, style: LlmEndpointSettings['structured_outputs']): Record<string, unknown> {
  if (style === 'vllm') return { ...body, structured_outputs: { json: schema.schema } };
  return { ...body, response_format: { type: 'json_schema', json_schema: { name: schema.name, schema: schema.schema, strict: true } } };
}
