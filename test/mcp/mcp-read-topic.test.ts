import { afterEach, describe, expect, it } from 'vitest';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { connectClient, httpTransport, startMcpDaemon, text, untrustedData } from './mcp-client.ts';

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const INT = 'std_msgs/msg/Int32';

describe('read_topic over MCP', () => {
  it('answers the latest message at once with its age, waits for the next when there is none, and reads N as they come', async () => {
    const { url, daemon, codec } = await startMcpDaemon(cleanups, { agent: { read_topic: { timeout_ms: 5000 } } });
    const client = await connectClient(cleanups, httpTransport(url), 'reader');
    const counter = daemon.bus.advertise('/counter', INT, { source: 'test' });
    const read = async (count?: number) => {
      const result = await client.callTool({
        name: 'read_topic',
        arguments: { topic: '/counter', ...(count ? { count } : {}) },
      });
      expect(result.isError, text(result)).toBeFalsy();
      return untrustedData(result).data;
    };

    let n = 0;
    let timer: NodeJS.Timeout | undefined;
    const publishEvery = (ms: number) =>
      (timer = setInterval(() => counter.publish(codec.encode(INT, { data: ++n })), ms));
    cleanups.push(() => clearInterval(timer));

    // Nothing on /counter yet: the read waits for the next message (published until it comes).
    const first = read();
    publishEvery(100);
    expect(await first).toMatchObject({
      topic: '/counter',
      type: INT,
      message: { data: expect.any(Number) },
      age_ms: 0,
    });
    clearInterval(timer);

    // Nothing new since: the latest is answered at once, aged, where waiting for the next would time out.
    const latest = await read();
    expect(latest).toMatchObject({ message: { data: n } });
    expect(latest.age_ms).toBeGreaterThan(0);

    // Three asked: the next three, in order, as they come (the latest is not one of them).
    const last = n;
    const three = read(3);
    publishEvery(100);
    const { messages } = (await three) as { messages: { message: { data: number } }[] };
    expect(messages).toHaveLength(3);
    const data = messages.map((m) => m.message.data);
    expect(data[0]).toBeGreaterThan(last);
    expect(data).toEqual([data[0], data[0]! + 1, data[0]! + 2]);
  });

  it('says which message did not come, and where nothing publishes', async () => {
    const { url } = await startMcpDaemon(cleanups, { agent: { read_topic: { timeout_ms: 200 } } });
    const client = await connectClient(cleanups, httpTransport(url), 'reader');
    const result = await client.callTool({ name: 'read_topic', arguments: { topic: '/nobody', count: 2 } });
    expect(result.isError).toBe(true);
    expect(text(result)).toContain(
      'message 1 of 2 did not come on /nobody within 200 ms (nothing has published on it yet)',
    );
  });
});
