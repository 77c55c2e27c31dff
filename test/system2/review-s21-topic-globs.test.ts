import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readApiFile } from '../../daemon/api/discovery.ts';
import { http } from '../api/http.ts';
import { OpenAiSseServer } from '../doubles/openai-sse-server.ts';
import { startDaemon } from '../helpers/daemon.ts';

// policy.topics is checked on the topic a call names, but the bus reads a name holding `*` or `?` as a
// glob: read_topic("/battery/*") passed a deny of /battery/secret (the string "/battery/*" is not
// "/battery/secret") and then read the next message on any topic under /battery, the denied one included.
// No ROS 2 topic name holds either character.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Run = { run_id: string; status: string; reason?: string };
type RunEvent = { kind: string; payload: Record<string, unknown> };

async function setup() {
  const server = new OpenAiSseServer();
  await server.start();
  cleanups.push(() => server.close());
  const { daemon, codec, dir, stop } = await startDaemon(
    {
      sim: { enabled: false },
      foxglove: { enabled: false },
      lakehouse: { enabled: false },
      retention: { enabled: false },
      api: { port: 0 },
      llm: { endpoints: [{ name: 'local', base_url: server.baseUrl, model: 'scripted-model', retries: 0 }] },
      policy: { topics: { allow: ['**'], deny: ['/battery/secret'] } },
    },
    'review-s21-globs-',
  );
  cleanups.push(stop);
  // The denied topic carries a secret, often.
  const secret = daemon.bus.advertise('/battery/secret', 'std_msgs/msg/String', { source: 'test' });
  const timer = setInterval(() => secret.publish(codec.encode('std_msgs/msg/String', { data: 'the door code is 1234' })), 10);
  cleanups.unshift(() => clearInterval(timer));
  const { url } = readApiFile(join(dir, 'data'))!;
  const until = async (runId: string): Promise<{ run: Run; events: RunEvent[] }> => {
    const deadline = performance.now() + 20_000;
    for (;;) {
      const found = (await http(url, `/runs/${runId}`)).json as { run: Run; events: RunEvent[] };
      if (['succeeded', 'failed', 'cancelled', 'interrupted'].includes(found.run.status)) return found;
      if (performance.now() > deadline) throw new Error(`run ${runId} never ended (is ${found.run.status})`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };
  return { server, url, until };
}

describe('read_topic and a topic name that the bus would read as a glob', () => {
  for (const topic of ['/battery/*', '/battery/secre?', '/**']) {
    it(`does not let a model read a denied topic through ${topic}`, { timeout: 30_000 }, async () => {
      const { server, url, until } = await setup();
      server.enqueue({ toolCalls: [{ name: 'read_topic', arguments: { topic } }] }, { text: 'I could not read it.' });
      const created = await http(url, '/intents', { body: { type: 'natural_language', params: { text: 'what is on the battery topics?' } } });
      const { events } = await until((created.json.run as Run).run_id);
      expect(JSON.stringify(events)).not.toContain('door code');
      expect(JSON.stringify(server.chats.map((c) => c.body.messages))).not.toContain('door code');
      // The model was told why: the topic is no topic name.
      const told = (server.chats[1]!.body.messages as { role: string; content: unknown }[]).find((m) => m.role === 'tool');
      expect(JSON.stringify(told?.content)).toContain('topic');
    });
  }

  it('refuses such a name in a read_topic intent, naming the field', async () => {
    const { url } = await setup();
    const created = await http(url, '/intents', { body: { type: 'read_topic', params: { topic: '/battery/*' } } });
    expect(created.status, created.text).toBe(400);
    expect(created.text).toContain('params.topic');
  });
});
