import type { Context } from '@mariozechner/pi-ai';
import { convertMessages } from '@mariozechner/pi-ai/openai-completions';
import type { Endpoint } from './model.ts';

type ChatMessage = ReturnType<typeof convertMessages>[number];
type Resolved = Parameters<typeof convertMessages>[2];

/** The endpoints are configured, not detected: local servers know no `developer` role, `store` or strict tools. */
const COMPAT: Resolved = {
  supportsStore: false,
  supportsDeveloperRole: false,
  supportsReasoningEffort: false,
  supportsUsageInStreaming: true,
  maxTokensField: 'max_tokens',
  requiresToolResultName: false,
  requiresAssistantAfterToolResult: false,
  requiresThinkingAsText: false,
  requiresReasoningContentOnAssistantMessages: false,
  thinkingFormat: 'openai',
  openRouterRouting: {},
  vercelGatewayRouting: {},
  zaiToolStream: false,
  supportsStrictMode: false,
  sendSessionAffinityHeaders: false,
  supportsLongCacheRetention: false,
};

/**
 * The agent's transcript as a chat request's `messages`: pi-ai's conversion, reshaped where a server hands the
 * message to the model's chat template as it is (llama-cpp-python's server does), since templates are written for
 * the shapes OpenAI's own clients send.
 */
export function requestMessages(model: Endpoint['model'], context: Context): ChatMessage[] {
  return convertMessages(model, context, COMPAT).map(asTemplatesRead);
}

function asTemplatesRead(message: ChatMessage): ChatMessage {
  // OpenAI, vLLM and llama-server take `null` for a turn that only called tools; llama-cpp-python's server answers
  // it with HTTP 500 (so a run that fell back to it after a tool call would fail there).
  if (message.role === 'assistant' && message.content === null) return { ...message, content: '' };
  // pi-ai sends a user's text as a list of text parts. Llama 3's, Qwen 2.5's and Mistral's templates join
  // `message['content']` to strings: given a list, Qwen's and Mistral's fail the request and Llama 3's prints the
  // list's Python text into the prompt. Parts stay only where an image is among them.
  const parts: readonly { type: string; text?: string }[] | string | null | undefined = message.content;
  if (!Array.isArray(parts) || !parts.every((part) => part.type === 'text')) return message;
  // Joined by line breaks, as vLLM and llama-server join the text parts of one message.
  return { ...message, content: parts.map((part) => part.text).join('\n') } as ChatMessage;
}
