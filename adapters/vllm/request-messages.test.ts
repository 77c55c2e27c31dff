import { fauxAssistantMessage, fauxToolCall, type Context, type Message } from '@mariozechner/pi-ai';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OpenAiSseServer } from '../../test/doubles/openai-sse-server.ts';
import { endpointSettings } from '../../test/agent/endpoint-settings.ts';
import { EndpointChain } from './endpoint-chain.ts';
import { resolveEndpoint, type Endpoint } from './model.ts';

// What a server's chat template is handed for the agent's turns (the real templates: test/agent-real/chat-templates).

const IMAGE = { type: 'image' as const, data: 'iVBORw0KGgo=', mimeType: 'image/png' };

/** A run that asked, called a tool, had its result and was asked again (as a validator's feedback asks). */
const TRANSCRIPT: Message[] = [
  { role: 'user', content: [{ type: 'text', text: 'Stop.' }], timestamp: 0 },
  fauxAssistantMessage([fauxToolCall('stop', {}, { id: 'call_1' })], { stopReason: 'toolUse' }),
  {
    role: 'toolResult',
    toolCallId: 'call_1',
    toolName: 'stop',
    content: [{ type: 'text', text: '{"stopped": true}' }],
    isError: false,
    timestamp: 0,
  },
  {
    role: 'user',
    content: [
      { type: 'text', text: 'It is not done.' },
      { type: 'text', text: 'Try again.' },
    ],
    timestamp: 0,
  },
];

describe("the messages of the agent's chat request", () => {
  let server: OpenAiSseServer;
  beforeEach(async () => {
    server = new OpenAiSseServer();
    await server.start();
  });
  afterEach(() => server.close());

  async function sent(
    context: Context,
    endpoint = resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl })),
  ) {
    server.enqueue({ text: 'OK' });
    await new EndpointChain({ endpoints: [endpoint] }).stream(context).result();
    return server.chats.at(-1)!.body.messages;
  }

  it('sends every turn of text alone as a string: user, system, tool and assistant', async () => {
    expect(await sent({ systemPrompt: 'You are a robot.', messages: TRANSCRIPT })).toEqual([
      { role: 'system', content: 'You are a robot.' },
      { role: 'user', content: 'Stop.' },
      {
        role: 'assistant',
        content: '',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'stop', arguments: '{}' } }],
      },
      { role: 'tool', content: '{"stopped": true}', tool_call_id: 'call_1' },
      { role: 'user', content: 'It is not done.\nTry again.' },
    ]);
  });

  it('keeps the parts of a turn with an image, for a model that takes images', async () => {
    const endpoint = resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl }));
    const vision: Endpoint = { ...endpoint, model: { ...endpoint.model, input: ['text', 'image'] } };
    const messages: Message[] = [
      { role: 'user', content: [{ type: 'text', text: 'What is ahead?' }, IMAGE], timestamp: 0 },
    ];
    expect(await sent({ messages }, vision)).toEqual([
      {
        role: 'user',
        content: [
          { type: 'text', text: 'What is ahead?' },
          { type: 'image_url', image_url: { url: `data:image/png;base64,${IMAGE.data}` } },
        ],
      },
    ]);
    // A model that takes no images gets pi-ai's placeholder instead: text alone again, so a string.
    expect(await sent({ messages })).toEqual([
      { role: 'user', content: 'What is ahead?\n(image omitted: model does not support images)' },
    ]);
  });
});
