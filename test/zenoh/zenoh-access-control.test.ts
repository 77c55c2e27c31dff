import { readFileSync, writeFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { typeDescriptionHash } from '../../daemon/bus/type-hash.ts';
import { tempDir } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { peerHere } from '../peers/missing.ts';
import { ZenohNetwork, type Peer } from './zenoh-network.ts';

const STRING = 'std_msgs/msg/String';
const FLOOD = join(import.meta.dirname, '..', 'peers', 'zenoh', 'flood_peer.py');

/** The `access_control` example docs/bridges.md gives for a robot's router, as the page has it. */
function documentedAccessControl(): string {
  const page = readFileSync(join(import.meta.dirname, '..', '..', 'docs', 'bridges.md'), 'utf8');
  const block = [...page.matchAll(/```json5\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((b) => b.startsWith('access_control:'));
  if (block === undefined) throw new Error('docs/bridges.md has no json5 block starting with access_control:');
  return block;
}

/** A non-loopback IPv4 interface of this machine: connecting to its address makes a link the router sees on it. */
function lanInterface(): { name: string; address: string } | undefined {
  for (const [name, addresses] of Object.entries(networkInterfaces()))
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return { name, address: a.address };
  return undefined;
}

const lan = lanInterface();
// Not a peer an install gives: a machine (a network namespace) without a LAN skips, CI too, and says so.
const onLanHere = peerHere(
  lan !== undefined,
  "docs/bridges.md's access_control example needs a LAN interface (a non-loopback IPv4 address) to tell its peers apart",
  { required: false },
);

/**
 * The router of docs/bridges.md's `access_control` example (eclipse-zenoh 1.10.1 in router mode): nodes on the robot
 * (loopback) own the graph; a peer on the LAN may read it, and its tokens and samples are refused. The LAN peer here
 * connects to this machine's own LAN address, so the router sees its link on that interface (named as the example
 * names it, `eth0`, or this machine's, put in its place).
 */
describe.runIf(onLanHere)("docs/bridges.md's access_control example on a robot's router", () => {
  const dir = tempDir('zenoh-acl-');
  let net: ZenohNetwork;
  const peers: Peer[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    net = await ZenohNetwork.create();
    const config = join(dir.path, 'router.json5');
    writeFileSync(config, `{\n${documentedAccessControl().replaceAll('"eth0"', JSON.stringify(lan!.name))}\n}\n`);
    await net.startRouter({ listen: [`tcp/${lan!.address}:${net.routerPort}`], config });
    await net.startBridge();
  });
  afterAll(async () => {
    await Promise.all(peers.map((p) => p.close()));
    for (const cleanup of cleanups.reverse()) await cleanup();
    await net?.close();
    dir.cleanup();
  });

  const onLan = `tcp/${lan?.address}:`;
  const peer = async (spec: Record<string, unknown>, where: 'robot' | 'lan', script?: string) => {
    const router = where === 'lan' ? `${onLan}${net.routerPort}` : net.routerEndpoint;
    const p = await net.peer({ ...spec, router }, script);
    peers.push(p);
    return p;
  };

  it(
    "refuses a LAN peer's tokens, samples and queries, and lets it read what the robot's nodes publish",
    { timeout: 180_000 },
    async () => {
      const { daemon, codec, stop } = await startDaemon({
        zenoh: { enabled: true, endpoint: net.wsUrl, topics: ['/**'] },
      });
      cleanups.push(stop);
      const hash = typeDescriptionHash(daemon.definitions, STRING)!;
      const hex = (data: string) => Buffer.from(codec.encode(STRING, { data })).toString('hex');
      const topics = (prefix: string) => daemon.graph.endpoints().filter((e) => e.name.startsWith(prefix)).length;

      // A LAN peer floods the graph with tokens first, then a robot node does: the daemon hears the robot's alone.
      await peer({ count: 20, prefix: '/lan_flood' }, 'lan', FLOOD);
      await peer({ count: 20, prefix: '/robot_flood' }, 'robot', FLOOD);
      // Twenty tokens through the router's access control and the bridge: on a loaded machine, more than 20 s.
      await waitFor(() => topics('/robot_flood') === 20, "the robot node's 20 topics in the daemon's graph", 60_000);
      expect(topics('/lan_flood')).toBe(0);

      // The robot's /chatter reaches a reader on the LAN; a LAN writer's /cmd_vel reaches no node on the robot, while
      // a robot node's does.
      await peer(
        { node: 'talker', publish: { topic: '/chatter', type: STRING, hash, payloads: [hex('hi')], rate_hz: 20 } },
        'robot',
      );
      const reader = await peer({ node: 'lan_viewer', subscribe: { topic: '/chatter', type: STRING } }, 'lan');
      await reader.next((e) => e.event === 'sample' && e.payload === hex('hi'), "the robot's /chatter on the LAN");
      const base = await peer({ node: 'base', subscribe: { topic: '/cmd_vel', type: STRING } }, 'robot');
      await peer(
        { node: 'lan_writer', publish: { topic: '/cmd_vel', type: STRING, hash, payloads: [hex('lan')], rate_hz: 20 } },
        'lan',
      );
      await peer(
        { node: 'teleop', publish: { topic: '/cmd_vel', type: STRING, hash, payloads: [hex('robot')], rate_hz: 20 } },
        'robot',
      );
      await base.next(
        (e) => e.event === 'sample' && e.payload === hex('robot'),
        "the robot node's /cmd_vel at the base",
      );
      // Both writers run at 20 Hz: by the robot writer's 10th sample, a LAN sample let through would be there.
      await waitFor(
        () => base.events.filter((e) => e.payload === hex('robot')).length >= 10,
        "ten of the robot node's /cmd_vel",
      );
      expect(base.events.filter((e) => e.payload === hex('lan'))).toEqual([]);

      // The daemon's VLA queryable answers a robot node, and no one on the LAN.
      daemon.bus.serve('ai/inference/vla/pick', async () => ({
        encoding: 'application/json',
        payload: new TextEncoder().encode('{"action":[1]}'),
      }));
      const ask = async (where: 'robot' | 'lan') => {
        const caller = await peer({ get: { key: 'ai/inference/vla/pick', payload: '{}', timeout_s: 3 } }, where);
        return (await caller.next((e) => e.event === 'replies', `the ${where} get's end`)).replies;
      };
      expect(await ask('robot')).toEqual([expect.objectContaining({ ok: true, payload: '{"action":[1]}' })]);
      expect(await ask('lan')).toEqual([]);
    },
  );
});
