import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Peer, ZenohNetwork } from '../test/zenoh/zenoh-network.ts';

/** The floor's large stream, by where it enters: see startBulkSources. */
export type FloorSource = 'router' | 'bridge';

/** The topic the router floor's samples go to. */
export const FLOOR_TOPIC = '/floor_points';
const BYTES = 'std_msgs/msg/ByteMultiArray';
const LARGE = 5 * 1024 * 1024;

/**
 * The Zenoh bench's floors: 5 MB at 10 Hz that never passes through the daemon nor this process's event loop, on
 * while a phase runs. `router`: eclipse-zenoh's own publisher (test/peers/zenoh/ros_peer.py) straight into the
 * router (no remote-api bridge, no zenoh-ts), to the same listener as the small streams. `bridge`: a bare zenoh-ts
 * session in a process of its own (bench/zenoh-bulk-child.ts) through the remote-api bridge, on a key nobody
 * subscribes to, so the bridge takes in every sample and routes none.
 */
export async function startBulkSources(net: ZenohNetwork) {
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'zenoh-bulk-child.ts'), net.wsUrl, 'bench/nobody/subscribes'],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', () => resolve());
    child.once('exit', (code) => reject(new Error(`bench/zenoh-bulk-child.ts exited (${code}) before it was ready`)));
  });
  let camera: Peer | undefined;
  return {
    /** Once the source sends. */
    async start(source: FloorSource): Promise<void> {
      if (source === 'bridge') child.stdin!.write('on\n');
      else
        camera = await net.peer({
          node: 'floor_camera',
          publish: { topic: FLOOR_TOPIC, type: BYTES, hash: 'RIHS01_floor', rate_hz: 10, size: LARGE },
        });
    },
    async off(): Promise<void> {
      child.stdin!.write('off\n');
      await camera?.close();
      camera = undefined;
    },
    async close(): Promise<void> {
      await camera?.close();
      child.stdin!.end();
      await new Promise((resolve) => (child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve)));
    },
  };
}
