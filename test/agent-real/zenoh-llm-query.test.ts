import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from '../zenoh/zenoh-network.ts';
import { MODEL_ID, SERVER_KINDS, startModelServer, writeTestModel, ENDPOINT_SETTINGS } from './model-servers.ts';

// Another robot process asks System 2 with one Zenoh get of ai/inference/llm/<endpoint>: a real router, the
// remote-api bridge, a Python eclipse-zenoh peer, and a real model server behind the daemon.

const shared = cleanupStack(afterAll);

describe('the Zenoh queryable ai/inference/llm/* answered by real model servers', () => {
  const zn = useZenohNetwork();
  let stopDaemon: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    const written = await writeTestModel();
    shared.push(written.cleanup);
    const servers = await Promise.all(SERVER_KINDS.map((kind) => startModelServer(kind, written.path)));
    for (const server of servers) shared.push(() => server.close());
    const started = await startDaemon(
      {
        sim: { enabled: false },
        foxglove: { enabled: false },
        api: { enabled: false },
        zenoh: { enabled: true, endpoint: zn.net.wsUrl },
        llm: {
          endpoints: servers.map((server) => ({
            name: server.kind,
            base_url: server.baseUrl,
            model: MODEL_ID,
            max_tokens: 5,
            ...ENDPOINT_SETTINGS[server.kind],
          })),
        },
      },
      'real-llm-zenoh-',
    );
    stopDaemon = started.stop;
    await waitFor(() => started.daemon.componentHealth().zenoh?.state === 'running', 'the Zenoh link to come up');
  }, 120_000);

  afterAll(async () => {
    await stopDaemon?.();
  });

  it.each(SERVER_KINDS)(
    "answers a Python peer's get of ai/inference/llm/%s from that server",
    async (kind) => {
      const caller = await zn.peer({
        get: {
          key: `ai/inference/llm/${kind}`,
          payload: JSON.stringify({ messages: [{ role: 'user', content: 'Say OK' }] }),
          timeout_s: 60,
        },
      });
      const { replies } = (await caller.next((e) => e.event === 'replies', 'the replies', 90_000)) as unknown as {
        replies: { ok: boolean; payload: string }[];
      };
      expect(replies).toHaveLength(1);
      expect(replies[0]!.ok, replies[0]!.payload).toBe(true);
      expect(JSON.parse(replies[0]!.payload)).toMatchObject({
        endpoint: kind,
        content: 'OK OK',
        finish_reason: 'length',
      });
    },
    120_000,
  );

  it('refuses a request that is not a chat before any server is asked', async () => {
    const caller = await zn.peer({
      get: { key: 'ai/inference/llm/default', payload: JSON.stringify({ messages: [{ role: 'tool', content: 1 }] }) },
    });
    const { replies } = (await caller.next((e) => e.event === 'replies', 'the replies', 60_000)) as unknown as {
      replies: { ok: boolean; payload: string }[];
    };
    expect(replies).toHaveLength(1);
    expect(replies[0]!.ok).toBe(false);
    expect(JSON.parse(replies[0]!.payload)).toMatchObject({ code: 'bad_request' });
  }, 90_000);
});
