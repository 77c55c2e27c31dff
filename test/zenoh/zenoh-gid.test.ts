import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entityGid } from '../../adapters/zenoh/rmw-zenoh-keys.ts';
import { xxh3_128 } from '../../adapters/zenoh/xxh3-128.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { waitFor } from '../helpers/wait.ts';
import { useZenohNetwork } from './zenoh-network.ts';

/** xxhsum's sanity buffer (xxHash tests/sanity_test.c): byte i is the top byte of PRIME32 * PRIME64^i. */
function sanityBuffer(length: number): Uint8Array {
  const out = new Uint8Array(length);
  let gen = 2654435761n;
  for (let i = 0; i < length; i++) {
    out[i] = Number(gen >> 56n);
    gen = (gen * 11400714785074694797n) & ((1n << 64n) - 1n);
  }
  return out;
}

// XXH3_128bits (seed 0) of the sanity buffer's first `length` bytes, [length, low64, high64], from the reference
// C library (xxHash 0.8.4 through PyPI xxhash 4.1.0); length 0 and 1 are also in xxHash's own sanity vectors.
// One or more per code path: 0, 1-3, 4-8, 9-16, 17-128, 129-240, and long inputs of one or several 1 KiB blocks.
const VECTORS: [number, string, string][] = [
  [0, '6001c324468d497f', '99aa06d3014798d8'],
  [1, 'c44bdff4074eecdb', 'a6cd5e9392000f6a'],
  [2, '7a9978044cb8a8bb', '76750c3c7bf95668'],
  [3, '54247382a8d6b94d', '20efc49ff02422ea'],
  [4, '2e7d8d6876a39fe9', '970d585ac632bf8e'],
  [7, '081c22dd284a2f0a', 'dd9b6039f79ec416'],
  [8, '64c69cab4bb21dc5', '47a7f080d82bb456'],
  [9, 'ed7ccbc501eb7501', '564ef6078950d457'],
  [16, '562980258a998629', 'c68c368ecf8a9c05'],
  [17, 'abbc12d11973d7db', '955fa78643ed3669'],
  [32, '278410a17595e3f9', '98fc6458710dc2e8'],
  [33, 'e593bc4e5914c9d1', '3103c192ceaa2ded'],
  [64, 'efdb6a44690721a9', '6d90e81a9b0fd622'],
  [65, 'fe2f650fa500ec6e', '6c074d65e54db85a'],
  [96, 'e9324473ea9afebe', 'd9d0b885f56c93f1'],
  [97, '7c87228ae9671ba7', '09dff37faa6b284c'],
  [128, 'ebb15e34a7fb5ab1', '39992220e045260a'],
  [129, '86c9e3bc8f0a3b5c', '03815fc91f1b30b6'],
  [160, '737126c8d7c09cee', 'ba5d218964b622ad'],
  [192, '0679e7f625e389d9', '064934db40706c3d'],
  [200, 'eb060f1bb3126f5a', 'e76ff4780fe18439'],
  [240, '5c9aae94c8ebe5a0', 'aa4202daa2769dc8'],
  [241, 'c5a639ecd2030e5e', '99a80ecf0ecfc647'],
  [255, 'e98f979f4ed8a197', '961375c87e09efbc'],
  [256, '55de574ad89d0ac5', '8b1c66091423d288'],
  [1024, 'dd85c9b5c1109c5c', '0d30d24071c64c57'],
  [1025, 'd870c0fa13211c6a', 'fd3ee4fe7f2954c6'],
  [2048, 'dd59e2c3a5f038e0', 'f736557fd47073a5'],
  [2367, 'cb37aeb9e5d361ed', 'e89c0f6ff369b427'],
  [4096, 'e91206429d1f48f9', 'b9cfaea2ca5626a4'],
];

describe('XXH3-128, as rmw_zenoh hashes a liveliness token into a GID', () => {
  const buffer = sanityBuffer(4096);
  it.each(VECTORS)('matches the reference for %i bytes', (length, low, high) => {
    const hash = xxh3_128(buffer.subarray(0, length));
    expect([hash.low.toString(16).padStart(16, '0'), hash.high.toString(16).padStart(16, '0')]).toEqual([low, high]);
  });
});

const STRING = 'std_msgs/msg/String';

describe("the daemon's publisher GIDs over Zenoh", () => {
  const zn = useZenohNetwork();

  /** Starts a daemon publishing /chatter; returns the GID on its samples and the publisher token it announced. */
  async function chatterOfOneStart(): Promise<{ gid: string; token: string }> {
    const { daemon, codec, stop } = await startDaemon({
      bus: { definitions: { dirs: [resolve('test/fixtures/msgs/common_interfaces')] } },
      zenoh: { enabled: true, endpoint: zn.net.wsUrl, publish: ['/chatter'] },
    });
    try {
      await waitFor(() => daemon.componentHealth().zenoh!.state === 'running', 'the Zenoh link');
      const listener = await zn.peer({
        node: 'listener',
        subscribe: { topic: '/chatter', type: STRING },
        liveliness: true,
      });
      const pub = daemon.bus.advertise('/chatter', STRING, { source: 'test' });
      await waitFor(
        () => (pub.publish(codec.encode(STRING, { data: 'hi' })), listener.events.some((e) => e.event === 'sample')),
        'a sample at the peer',
      );
      const token = await listener.next(
        (e) => e.event === 'token' && String(e.key).includes('/MP/') && String(e.key).includes('%chatter'),
        "the daemon's publisher token",
      );
      const sample = listener.events.find((e) => e.event === 'sample') as unknown as { attachment: { gid: string } };
      await listener.close();
      return { gid: sample.attachment.gid, token: String(token.key) };
    } finally {
      await stop();
    }
  }

  it("are XXH3-128 of the publisher's liveliness token, as rmw_zenoh derives them, and new at every start", async () => {
    const first = await chatterOfOneStart();
    const second = await chatterOfOneStart();
    expect(first.gid).toBe(Buffer.from(entityGid(first.token)).toString('hex'));
    expect(second.gid).toBe(Buffer.from(entityGid(second.token)).toString('hex'));
    expect(second.token).not.toBe(first.token);
    expect(second.gid).not.toBe(first.gid);
  });
});
