import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { rasterize } from '../../sim/turtlebot-maze/occupancy.ts';
import { occupancyGridMessage } from '../../sim/turtlebot-maze/messages.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { connectClient, httpTransport, startMcpDaemon } from './mcp-client.ts';

/** The robot's map as an MCP resource: what the sim's map_server stand-in latched on /map, decoded. */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

const MAP_URI = 'auraison://robot/map';

interface MapSnapshot {
  frame_id: string;
  info: { resolution: number; width: number; height: number; origin: { position: { x: number; y: number } } };
  cells: { unknown: number; free: number; occupied: number };
  encoding: string;
  data: string;
}

async function readMap(client: Awaited<ReturnType<typeof connectClient>>): Promise<MapSnapshot> {
  const { contents } = await client.readResource({ uri: MAP_URI });
  const wrapped = JSON.parse((contents[0] as { text: string }).text) as { untrusted: boolean; data: MapSnapshot };
  expect(wrapped.untrusted).toBe(true);
  return wrapped.data;
}

describe('the map resource', () => {
  it("serves the sim's occupancy grid decoded: its info, cell counts, and every cell as base64 int8", async () => {
    const { url, sim } = await startMcpDaemon(cleanups);
    const client = await connectClient(cleanups, httpTransport(url));
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain(MAP_URI);

    const map = await readMap(client);
    const grid = rasterize(sim.maze);
    expect(map.frame_id).toBe('map');
    expect(map.info).toMatchObject({ resolution: grid.resolution, width: grid.width, height: grid.height });
    expect(map.info.origin.position).toMatchObject({ x: 0, y: 0 });
    expect(map.encoding).toBe('int8-base64');
    const cells = new Int8Array(Buffer.from(map.data, 'base64'));
    expect(cells).toEqual(grid.data);
    const occupied = grid.data.filter((v) => v === 100).length;
    expect(map.cells).toEqual({ unknown: 0, free: grid.data.length - occupied, occupied });
  });

  it('tells a subscriber when a new map arrives, and answers a plain GET /map with 304 while it is the same', async () => {
    const { url, daemon, sim } = await startMcpDaemon(cleanups);
    const client = await connectClient(cleanups, httpTransport(url));
    const updated: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => void updated.push(n.params.uri));
    await client.subscribeResource({ uri: MAP_URI });

    const first = await fetch(`${url}/map`);
    const etag = first.headers.get('etag')!;
    expect(first.status).toBe(200);
    expect((await fetch(`${url}/map`, { headers: { 'if-none-match': etag } })).status).toBe(304);

    // A SLAM node's next map: one more wall cell, published as map_server would.
    const grid = rasterize(sim.maze);
    const free = grid.data.indexOf(0);
    grid.data[free] = 100;
    const codec = new MessageCodec(daemon.definitions);
    const publisher = daemon.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'test' });
    publisher.publish(codec.encode('nav_msgs/msg/OccupancyGrid', occupancyGridMessage(grid)));

    await waitFor(() => updated.length > 0, 'a resources/updated notification for the new map');
    expect(updated).toEqual([MAP_URI]);
    const map = await readMap(client);
    expect(new Int8Array(Buffer.from(map.data, 'base64'))[free]).toBe(100);
    expect((await fetch(`${url}/map`, { headers: { 'if-none-match': etag } })).status).toBe(200);
  });

  it("answers a map publisher's malformed grid with 502 naming it, and serves the next good one", async () => {
    const { url, daemon, sim } = await startMcpDaemon(cleanups);
    const codec = new MessageCodec(daemon.definitions);
    const publisher = daemon.bus.advertise('/map', 'nav_msgs/msg/OccupancyGrid', { source: 'attacker' });
    const client = await connectClient(cleanups, httpTransport(url));

    // A grid announcing a million cells and sending four: a reader trusting width and height would read past it.
    const lying = occupancyGridMessage({ ...rasterize(sim.maze), width: 1000, height: 1000, data: new Int8Array(4) });
    publisher.publish(codec.encode('nav_msgs/msg/OccupancyGrid', lying));
    const refused = await fetch(`${url}/map`);
    expect(refused.status).toBe(502);
    expect(await refused.json()).toMatchObject({
      error: 'bad_map',
      message: expect.stringMatching(
        /^the message on \/map is not a readable .*1000x1000 cells announced, 4 sent.*check its publisher/,
      ),
    });
    await expect(client.readResource({ uri: MAP_URI })).rejects.toThrow(/502.*bad_map|not a readable/);

    // Bytes that are no CDR at all.
    publisher.publish(new Uint8Array([0, 1, 0, 0, 0xff]));
    expect((await fetch(`${url}/map`)).status).toBe(502);

    publisher.publish(codec.encode('nav_msgs/msg/OccupancyGrid', occupancyGridMessage(rasterize(sim.maze))));
    expect((await readMap(client)).info.width).toBe(rasterize(sim.maze).width);
  });

  it('says no map has come, and what to start, when nothing publishes /map', async () => {
    const { daemon, stop } = await startDaemon({ api: { enabled: true, port: 0 }, foxglove: { enabled: false } });
    cleanups.push(stop);
    const url = daemon.ports.get(PORTS.api)!.url!;
    const client = await connectClient(cleanups, httpTransport(url));
    await expect(client.readResource({ uri: MAP_URI })).rejects.toThrow(/no message on \/map .*map_server/);
  });
});
