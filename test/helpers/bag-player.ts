import { pino } from 'pino';
import { BagPlayer, type PlayLatch, type PlayOptions } from '../../daemon/bags/player.ts';
import { Bus } from '../../daemon/bus/bus.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import type { BusMessage } from '../../daemon/bus/types.ts';

/**
 * A BagPlayer of the bag at `path` onto a bus of its own, with a subscriber deep enough to miss nothing: `seen` is
 * every message it published, in order. Plays at rate 1, every topic, from the start, unless `options` say otherwise;
 * `latch` is the operator's stop it obeys.
 */
export function playerOn(
  path: string,
  options: Partial<PlayOptions> = {},
  definitions = new DefinitionsRegistry(),
  latch?: PlayLatch,
) {
  const bus = new Bus();
  const seen: BusMessage[] = [];
  bus.subscribe({
    name: 'test',
    topic: '**',
    queue: { policy: 'drop-newest', depth: 1_000_000 },
    handler: (m) => void seen.push(m),
  });
  const player = new BagPlayer(
    { bus, definitions, log: pino({ level: 'silent' }), latch },
    { path, rate: 1, loop: false, select: () => true, startOffsetNs: 0n, remap: new Map(), ...options },
  );
  return { bus, definitions, seen, player };
}
