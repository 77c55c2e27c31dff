import { describe, expect, it } from 'vitest';
import { OpenAiSseServer } from '../../test/doubles/openai-sse-server.ts';
import { endpointSettings } from '../../test/agent/endpoint-settings.ts';
import { chatOnce } from './chat-client.ts';
import { resolveEndpoint } from './model.ts';

describe('llm.endpoints[].max_tokens_field', () => {
  it('puts the token limit under the key the endpoint reads, and only there', async () => {
    const server = new OpenAiSseServer();
    await server.start();
    try {
      server.enqueue({ text: 'a' }, { text: 'b' });
      const plain = resolveEndpoint(endpointSettings({ name: 'local', base_url: server.baseUrl, max_tokens: 9 }));
      await chatOnce(plain, { messages: [{ role: 'user', content: 'hi' }] });
      const reasoning = resolveEndpoint(
        endpointSettings({
          name: 'cloud',
          base_url: server.baseUrl,
          max_tokens: 9,
          max_tokens_field: 'max_completion_tokens',
        }),
      );
      // A caller asking for more than the endpoint's ceiling gets the ceiling, under either key.
      await chatOnce(reasoning, { messages: [{ role: 'user', content: 'hi' }], max_tokens: 500 });
      expect(server.chats[0]!.body).toMatchObject({ max_tokens: 9 });
      expect(server.chats[0]!.body).not.toHaveProperty('max_completion_tokens');
      expect(server.chats[1]!.body).toMatchObject({ max_completion_tokens: 9 });
      expect(server.chats[1]!.body).not.toHaveProperty('max_tokens');
    } finally {
      await server.close();
    }
  });
});
