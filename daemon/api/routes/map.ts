import type { FastifyPluginAsync } from 'fastify';
import type { MessageCodec } from '../../bus/index.ts';
import type { BusMessage } from '../../bus/index.ts';
import { HttpError } from '../errors.ts';
import { NoQuery } from './health.ts';
import type { RouteContext } from './route-context.ts';
import { errorText } from '../../util/index.ts';

/** The map topic, as the navigator and the live map read it. */
export const MAP_TOPIC = '/map';

interface OccupancyGrid {
  header: { frame_id: string; stamp: { sec: number; nanosec: number } };
  info: {
    resolution: number;
    width: number;
    height: number;
    origin: {
      position: { x: number; y: number; z: number };
      orientation: { x: number; y: number; z: number; w: number };
    };
  };
  data: Int8Array;
}

/** map_server's thresholds (free_thresh 0.25, occupied_thresh 0.65), for the cell counts a reader sees first. */
const FREE_MAX = 25;
const OCCUPIED_MIN = 65;

/** The map a GET /map answers with: the grid's info decoded, its cells as base64 bytes (see docs/mcp.md). */
export function mapSnapshot(msg: BusMessage, codec: MessageCodec) {
  const grid = codec.decode<OccupancyGrid>(msg.type, msg.data);
  const { resolution, width, height, origin } = grid.info;
  if (grid.data.length !== width * height)
    throw new Error(`${width}x${height} cells announced, ${grid.data.length} sent`);
  const cells = { unknown: 0, free: 0, occupied: 0 };
  for (const v of grid.data) {
    if (v < 0) cells.unknown++;
    else if (v <= FREE_MAX) cells.free++;
    else if (v >= OCCUPIED_MIN) cells.occupied++;
  }
  const { stamp } = grid.header;
  return {
    topic: msg.topic,
    frame_id: grid.header.frame_id,
    stamp_ns: (BigInt(stamp.sec) * 1_000_000_000n + BigInt(stamp.nanosec)).toString(),
    received_ns: msg.logTime.toString(),
    info: { resolution: shortestFloat32(resolution), width, height, origin },
    cells,
    // Row-major from the origin cell, one signed byte per cell (-1 unknown, 0 free .. 100 occupied), as ROS sends it.
    encoding: 'int8-base64',
    data: Buffer.from(grid.data.buffer, grid.data.byteOffset, grid.data.byteLength).toString('base64'),
  };
}

/** A float32 as the shortest decimal that reads back as it: 0.05, not 0.05000000074505806. */
function shortestFloat32(value: number): number {
  for (let digits = 1; digits < 9; digits++) {
    const decimal = Number(value.toPrecision(digits));
    if (Math.fround(decimal) === value) return decimal;
  }
  return value;
}

const MAP_DOCS = {
  summary: 'The latest occupancy grid on /map, decoded, its cells as base64 int8.',
  description:
    "The ETag is the message's receive time: with it in If-None-Match the answer is 304 until a new map comes.",
  reply:
    '{topic, frame_id, stamp_ns, received_ns, info: {resolution, width, height, origin}, ' +
    'cells: {unknown, free, occupied}, encoding: "int8-base64", data}',
  statuses: {
    304: 'the map is the one If-None-Match names',
    404: '`no_map`: nothing came on /map since the daemon started',
    502: '`bad_map`: the message on /map is not a readable OccupancyGrid',
  },
};

/**
 * GET /map: the latest occupancy grid on /map, decoded. The bus keeps the topic's last message for it (not
 * a subscriber), so reading the map costs nothing until asked. Its ETag is the message's receive time: a
 * client that sends it back in If-None-Match gets 304 until a new map comes (the MCP map subscription polls so).
 */
export const mapRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx, codec }) => {
  const latest = ctx.bus.retainLatest(MAP_TOPIC);
  app.get('/map', { schema: { querystring: NoQuery, ...MAP_DOCS } }, async (request, reply) => {
    const msg = latest();
    if (!msg)
      throw new HttpError(
        'no_map',
        `no message on ${MAP_TOPIC} since the daemon started: start what publishes the map (map_server, SLAM, the sim)`,
      );
    const etag = `"${msg.logTime}"`;
    void reply.header('etag', etag);
    if (request.headers['if-none-match'] === etag) return reply.code(304).send();
    try {
      return mapSnapshot(msg, codec);
    } catch (error) {
      throw new HttpError(
        'bad_map',
        `the message on ${MAP_TOPIC} is not a readable ${msg.type} (${errorText(error)}): check its publisher`,
      );
    }
  });
};
