import { describe, expect, it } from 'vitest';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { apiDaemon } from './api-daemon.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// agent.rules.topics is checked on the topic a call names, but the bus reads a name holding `*` or `?` as a
// glob: read_topic("/battery/*") passed a deny of /battery/secret (the string "/battery/*" is not
// "/battery/secret") and then read the next message on any topic under /battery, the denied one included.
// No ROS 2 topic name holds either character.

const cleanups = cleanupStack();

async function setup() {
  const server = new OpenAiSseServer();
  await server.start();
  cleanups.push(() => server.close());
  const daemon = await apiDaemon(
    {
      llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model', retries: 0 }] },
      agent: { rules: { topics: { allow: ['**'], deny: ['/battery/secret'] } } },
    },
    'read-topic-globs-',
    cleanups,
  );
  // The denied topic carries a secret, often.
  const secret = daemon.daemon.bus.advertise('/battery/secret', 'std_msgs/msg/String', { source: 'test' });
  const timer = setInterval(
    () => secret.publish(daemon.codec.encode('std_msgs/msg/String', { data: 'the door code is 1234' })),
    10,
  );
  cleanups.push(() => clearInterval(timer));
  return { server, ...daemon };
}

describe('read_topic and a topic name that the bus would read as a glob', () => {
  for (const topic of ['/battery/*', '/battery/secre?', '/**']) {
    it(`does not let a model read a denied topic through ${topic}`, { timeout: 30_000 }, async () => {
      const { server, submit, until } = await setup();
      server.enqueue({ toolCalls: [{ name: 'read_topic', arguments: { topic } }] }, { text: 'I could not read it.' });
      const { events } = await until(
        (await submit({ type: 'natural_language', params: { text: 'what is on the battery topics?' } })).run.run_id,
      );
      expect(JSON.stringify(events)).not.toContain('door code');
      expect(JSON.stringify(server.chats.map((c) => c.body.messages))).not.toContain('door code');
      // The model was told why: the topic is no topic name.
      const told = (server.chats[1]!.body.messages as { role: string; content: unknown }[]).find(
        (m) => m.role === 'tool',
      );
      expect(JSON.stringify(told?.content)).toContain('topic');
    });
  }

  it('refuses such a name in a read_topic intent, naming the field', async () => {
    const { submit } = await setup();
    const created = await submit({ type: 'read_topic', params: { topic: '/battery/*' } });
    expect(created.status, created.text).toBe(400);
    expect(created.text).toContain('params.topic');
  });
});
