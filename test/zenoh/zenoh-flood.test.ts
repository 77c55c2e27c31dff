import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { PORTS } from '../../daemon/contract/index.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

const FLOOD = 2000;
const MAX = 20;

interface ZenohDetails {
  link: { state: string; opens: number; losses: number; declareFailures: number };
  inbound: Record<string, unknown>;
  bridged_topics: { bridged: number; max: number; waiting: number; refusals: number };
}

describe('a Zenoh peer that announces thousands of topics under a bridged glob', () => {
  const zn = useZenohNetwork();
  const { cleanups } = zn;

  it('bridges zenoh.max_bridged_topics of them, counts the rest, keeps its link and answers the stop meanwhile', async () => {
    const { daemon, stop } = await startDaemon({
      api: { port: 0 },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, topics: ['/flood/**'], max_bridged_topics: MAX },
    });
    cleanups.push(stop);
    const url = daemon.ports.get(PORTS.api)!.url!;
    const zenoh = async () => {
      const status = (await (await fetch(`${url}/status`)).json()) as {
        components: Record<string, { details: ZenohDetails }>;
      };
      return status.components.zenoh!.details;
    };
    await waitFor(async () => (await zenoh()).link.state === 'up', 'the Zenoh link');

    const flood = spawn(zn.net.peers.python, [
      join(import.meta.dirname, '../peers/zenoh/flood_peer.py'),
      JSON.stringify({ router: zn.net.routerEndpoint, count: FLOOD }),
    ]);
    cleanups.push(async () => {
      flood.kill('SIGKILL');
    });
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: flood.stdout }).on('line', (line) => line.includes('"ready"') && resolve());
      flood.once('exit', (code) => reject(new Error(`the flooding peer exited (${code}) before it was ready`)));
    });

    // The operator's stop while the daemon hears the tokens and declares what it bridges.
    const stopped = await fetch(`${url}/stop`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"by":"flood test"}',
    });
    expect(stopped.status).toBe(200);

    await waitFor(
      async () => (await zenoh()).bridged_topics.refusals === FLOOD - MAX,
      'every topic past the cap refused',
      30_000,
    );
    const details = await zenoh();
    expect(details.bridged_topics).toEqual({ bridged: MAX, max: MAX, waiting: FLOOD - MAX, refusals: FLOOD - MAX });
    expect(Object.keys(details.inbound)).toHaveLength(MAX);
    expect(details.link).toMatchObject({ state: 'up', opens: 1, losses: 0, declareFailures: 0 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain(`auraison_zenoh_topic_refusals_total ${FLOOD - MAX}`);
    expect(metrics).toContain(`auraison_zenoh_topics_waiting ${FLOOD - MAX}`);

    // The peer goes: its topics go, bridged and waiting alike.
    flood.kill('SIGKILL');
    await waitFor(async () => {
      const { bridged, waiting } = (await zenoh()).bridged_topics;
      return bridged === 0 && waiting === 0;
    }, "the flooding peer's topics gone");
  });
});
