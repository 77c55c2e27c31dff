import { afterAll, describe, expect, it } from 'vitest';
import type { LoopSettings } from '../../daemon/config/sections/system1.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import { DefinitionsRegistry } from '../../daemon/bus/definitions.ts';
import { tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { CONSTANT_OBS, loopHarness } from './loop-harness.ts';
import { writeChunkModel } from './models.ts';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

/**
 * Bytes the loop thread's heap may grow by per tick, on average, in this test. Its ticks allocated about 4,700 B each
 * when every command was a new message in a new CDR buffer (and the clock a BigInt), about 950 B with seven clock
 * readings a tick and for-of loops, and 350 to 420 B since (here and beside three CPU hogs).
 */
const BOUND_BYTES_PER_TICK = 700;
const TICKS = 400;

describe('control loop allocation (worker thread)', () => {
  it(`allocates under ${BOUND_BYTES_PER_TICK} B a tick in the loop's heap, and the bus keeps every command it got`, async () => {
    // Async chunking with one long chunk: the model runs in the inference thread, and its one chunk lasts past the
    // ticks measured, so the loop thread's heap holds what its ticks allocate (popping, building, encoding, posting),
    // not onnxruntime's nor a chunk's arrival.
    const model = writeChunkModel(tmp.path, 2000);
    const { bus, control, commands } = loopHarness(
      model,
      { rate_hz: 400, chunking: { threshold: 0 } as LoopSettings['chunking'] },
      { inputs: CONSTANT_OBS },
    );
    const kept: Uint8Array[] = [];
    bus.subscribe({ name: 'keeper', topic: '/cmd', handler: (m) => void kept.push(m.data) });
    await control.start();
    try {
      await waitFor(() => control.stats().ticks > 600, 'the first ticks (compiled by then)');
      let grown = 0;
      let last = (await control.heapStatistics()!).used_heap_size;
      const from = control.stats().ticks;
      while (control.stats().ticks < from + TICKS) {
        await new Promise((r) => setTimeout(r, 250));
        const used = (await control.heapStatistics()!).used_heap_size;
        // A drop is a collection: what was allocated since the last reading before it goes uncounted.
        grown += Math.max(0, used - last);
        last = used;
      }
      const ticks = control.stats().ticks - from;
      expect(grown / ticks).toBeLessThan(BOUND_BYTES_PER_TICK);
    } finally {
      await control.stop();
      bus.close();
    }
    // Each command the bus got still holds its own values, though the loop encodes every one into the same bytes.
    const codec = new MessageCodec(new DefinitionsRegistry());
    const decoded = kept.map((d) =>
      Array.from(codec.decode<{ data: Float64Array }>('std_msgs/msg/Float64MultiArray', d).data),
    );
    expect(decoded).toEqual(commands.map((c) => c.values));
    expect(new Set(decoded.map((v) => v[0])).size).toBeGreaterThan(TICKS);
  });
});
