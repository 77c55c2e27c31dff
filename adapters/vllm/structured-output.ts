import type { LlmEndpointSettings } from '../../daemon/config/index.ts';

/** A JSON schema the completion must match (structured output). */
export interface ResponseSchema {
  name: string;
  schema: Record<string, unknown>;
}

/**
 * Adds a structured-output request to a chat-completions body: OpenAI's `response_format` json_schema, vLLM's
 * `structured_outputs: {json}` (vLLM >= 0.10.2), or `response_format: {type: json_object, schema}`, the one form
 * llama-cpp-python's server constrains with a schema (it answers json_schema with HTTP 500).
 */
export function withResponseSchema(
  body: Record<string, unknown>,
  schema: ResponseSchema,
  style: LlmEndpointSettings['structured_outputs'],
): Record<string, unknown> {
  if (style === 'vllm') return { ...body, structured_outputs: { json: schema.schema } };
  if (style === 'json_object') return { ...body, response_format: { type: 'json_object', schema: schema.schema } };
  return {
    ...body,
    response_format: { type: 'json_schema', json_schema: { name: schema.name, schema: schema.schema, strict: true } },
  };
}

/** Keywords whose value maps names to schemas: the names are not keywords. */
const SCHEMAS_BY_NAME = new Set(['properties', '$defs', 'definitions', 'dependentSchemas']);
/** Keywords whose value is data, not a schema: kept as given. */
const DATA = new Set(['const', 'enum', 'default', 'examples']);

/**
 * The schema the daemon checks a reply against: the caller's without its regular expressions (`pattern`,
 * `patternProperties`). A caller's expression run on the model's reply can backtrack for hours on the
 * daemon's main thread (`^(a|a)*$` on 40 characters): the caller writes both the expression and the prompt.
 * The server still gets them and constrains the reply with them. Where patternProperties goes,
 * additionalProperties goes too, since which keys the patterns would have matched is unknown.
 */
export function replyCheckSchema(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(replyCheckSchema);
  if (schema === null || typeof schema !== 'object') return schema;
  const record = schema as Record<string, unknown>;
  const unmatched = 'patternProperties' in record;
  // Entries, not assignment: a key named __proto__ stays a key.
  const entries: [string, unknown][] = [];
  for (const [key, value] of Object.entries(record)) {
    if (key === 'pattern' || key === 'patternProperties' || (unmatched && key === 'additionalProperties')) continue;
    if (DATA.has(key)) entries.push([key, value]);
    else if (SCHEMAS_BY_NAME.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      entries.push([key, Object.fromEntries(Object.entries(value).map(([name, s]) => [name, replyCheckSchema(s)]))]);
    } else entries.push([key, replyCheckSchema(value)]);
  }
  return Object.fromEntries(entries);
}
