import { MessageCodec, DefinitionsRegistry } from '../../daemon/bus/index.ts';
import { ROS2_DISTROS, ros2Peer, type Ros2Peer } from '../peers/ros2.ts';
import { Ros2Daemon } from '../ros2/ros2-daemon.ts';
import { BusClient } from './bus-client.ts';
import { sendUntil } from '../helpers/wait.ts';

/** The ROS 2 distributions the peer installs, each as the tests' `describe.each` row, resolved when its suite runs. */
export const DISTROS = ROS2_DISTROS.map((name) => ({ name }));

/** Decodes and encodes the bus's CDR with the daemon's own built-in definitions (Jazzy's, as the daemon's default). */
export const codec = new MessageCodec(new DefinitionsRegistry());

export interface RclpyWorld {
  peer: Ros2Peer;
  env: NodeJS.ProcessEnv;
  daemon: Ros2Daemon;
  bus: BusClient;
}

/**
 * `auraison-edge run` as a child in the peer's ROS 2 (its env: Fast DDS, loopback, `domain`), loading the peer's
 * rclnodejs through `ros.rclnodejs` as a user would point it at theirs, with `ros` over it and `extra` beside it; and a
 * Foxglove client on its bus. Client publishing is on for `publish` (the daemon sends those topics to ROS), with room
 * for a 1 MB image. `overlay`, where given, is the environment instead of the peer's (test/peers/arm.ts's).
 */
export async function startRclpyWorld(
  distro: string,
  domain: number,
  ros: Record<string, unknown>,
  extra: Record<string, unknown> = {},
  overlay?: NodeJS.ProcessEnv,
): Promise<RclpyWorld> {
  const peer = ros2Peer(distro as Ros2Peer['distro']);
  const env = overlay ?? peer.env(domain);
  const publish = (ros.publish as string[] | undefined) ?? [];
  const daemon = await Ros2Daemon.start(
    env,
    { rclnodejs: peer.rclnodejs, bridge_recorded: false, ...ros },
    {
      sim: { enabled: true, paused: true },
      foxglove: {
        port: 0,
        max_message_bytes: 4 << 20,
        max_buffered_bytes: 16 << 20,
        client_publish: { enabled: publish.length > 0, topics: publish.length > 0 ? publish : ['/cmd_vel'] },
      },
      ...extra,
    },
  );
  try {
    const listening = await daemon.process.waitForLog((l) => l.msg === 'foxglove websocket listening', 'Foxglove');
    const bus = await BusClient.connect(listening.url as string);
    return { peer, env, daemon, bus };
  } catch (error) {
    await daemon.stop();
    throw error;
  }
}

/** Sends `probe` until `arrived` holds (sendUntil), for up to 60 s. */
export function primed(probe: () => unknown, arrived: () => boolean, what: string): Promise<void> {
  return sendUntil(probe, arrived, `a probe through: ${what}`);
}

/** `bytes` less the zero bytes Fast DDS may pad a serialized message with (up to a multiple of 4). */
export function unpadded(bytes: Buffer, length: number): Buffer {
  const padding = bytes.subarray(length);
  if (padding.length > 3 || padding.some((b) => b !== 0)) return bytes;
  return bytes.subarray(0, length);
}
