import { describe, expect, it } from 'vitest';
import type { MetricsProvider } from '../../daemon/contract/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const IMAGE = 'sensor_msgs/msg/Image';
const MiB = 1 << 20;

/** A CDR-headed payload of `bytes` bytes. */
function sample(bytes: number, fill: number): Uint8Array {
  const data = new Uint8Array(bytes).fill(fill);
  data.set([0, 1, 0, 0]);
  return data;
}

describe('samples larger than the remote-api bridge takes', () => {
  const zn = useZenohNetwork();
  const { cleanups, peer } = zn;

  it('sends a sample of max_sample_bytes, and counts a 50 MiB one instead of losing the session to it', async () => {
    const { daemon, stop } = await startDaemon({
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, publish: ['/camera/raw'] },
    });
    cleanups.push(stop);
    const zenoh = daemon.components.get('zenoh')!;
    const details = () =>
      zenoh.health().details as {
        link: { losses: number; opens: number };
        outbound: Record<string, { sent: number; oversize: number }>;
      };
    await waitFor(() => zenoh.health().state === 'running', 'the link up');
    const viewer = await peer({ node: 'viewer', subscribe: { topic: '/camera/raw', type: IMAGE } });
    const camera = daemon.bus.advertise('/camera/raw', IMAGE, { source: 'test' });
    const max = daemon.config.zenoh.max_sample_bytes;

    camera.publish(sample(50 * MiB, 5));
    await waitFor(() => details().outbound['/camera/raw']?.oversize === 1, 'the 50 MiB sample counted');
    camera.publish(sample(max, 7));
    await waitFor(
      () => viewer.events.some((e) => e.event === 'sample'),
      'the sample of max_sample_bytes at the viewer',
      60_000,
    );
    const received = viewer.events.filter((e) => e.event === 'sample');
    expect(received.map((e) => String(e.payload).length / 2)).toEqual([max]);
    expect(details().outbound['/camera/raw']).toMatchObject({ sent: 1, oversize: 1 });
    expect(details().link).toMatchObject({ opens: 1, losses: 0 });
    const metrics = (zenoh as unknown as MetricsProvider)
      .metrics()
      .find((f) => f.name === 'auraison_zenoh_oversize_drops_total')!;
    expect(metrics.samples).toEqual([{ labels: { topic: '/camera/raw' }, value: 1 }]);
    camera.close();
  });

  it(
    'answers a get whose reply is over max_sample_bytes with an error saying so, and keeps the session',
    { timeout: 90_000 },
    async () => {
      const { daemon, stop } = await startDaemon({ zenoh: { enabled: true, endpoint: zn.net.wsUrl } });
      cleanups.push(stop);
      const zenoh = daemon.components.get('zenoh')!;
      await waitFor(() => zenoh.health().state === 'running', 'the link up');
      daemon.bus.serve('ai/inference/vla/huge', async () => ({
        encoding: 'application/octet-stream',
        payload: sample(20 * MiB, 3),
      }));
      // A 20 MiB reply is made and measured before it is refused: on a loaded machine that takes a while.
      const caller = await peer({ get: { key: 'ai/inference/vla/huge', payload: '{}', timeout_s: 40 } });
      const { replies } = (await caller.next((e) => e.event === 'replies', 'the reply', 60_000)) as unknown as {
        replies: { ok: boolean; payload: string }[];
      };
      // The first test's daemon answers too, that it has no such query.
      expect(replies.every((r) => !r.ok)).toBe(true);
      const errors = replies.map((r) => JSON.parse(r.payload) as { code: string; message: string });
      const tooLarge = errors.filter((e) => e.code === 'handler_error');
      expect(tooLarge).toHaveLength(1);
      expect(tooLarge[0]!.message).toContain(`${20 * MiB} bytes, more than the daemon's zenoh.max_sample_bytes`);
      const details = zenoh.health().details as { link: { losses: number }; queries: { oversize: number } };
      expect(details.queries.oversize).toBe(1);
      expect(details.link.losses).toBe(0);
    },
  );
});
