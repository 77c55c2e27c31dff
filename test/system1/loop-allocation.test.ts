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

/** Ticks a window of the measure spans, and how many windows the loop is given to reach one that allocated nothing. */
const WINDOW_TICKS = 1000;
const MAX_WINDOWS = 90;
/** Actions in the one chunk: more than the ticks of MAX_WINDOWS windows, so every tick measured pops one. */
const RATE_HZ = 1000;
const CHUNK = 120_000;

describe('control loop allocation (worker thread)', () => {
  it(
    'pops a queued action and sends its command with no allocation once V8 has optimized the loop',
    { timeout: 150_000 },
    async () => {
      // Async chunking with one long chunk: the model runs in the inference thread, and its one chunk lasts past the
      // ticks measured, so the loop thread's heap holds what its ticks allocate (popping, building, encoding, posting),
      // not onnxruntime's nor a chunk's arrival.
      const model = writeChunkModel(tmp.path, CHUNK);
      const { bus, control, commands } = loopHarness(
        model,
        { rate_hz: RATE_HZ, chunking: { threshold: 0 } as LoopSettings['chunking'] },
        { inputs: CONSTANT_OBS },
      );
      const kept: Uint8Array[] = [];
      bus.subscribe({ name: 'keeper', topic: '/cmd', handler: (m) => void kept.push(m.data) });
      await control.start();
      // Bytes the loop thread's heap grew by a tick, per window: while V8 compiles and tiers the tick's code up, its
      // numbers are boxed on the heap (a few hundred bytes a tick); once it has, nothing is allocated.
      const windows: number[] = [];
      try {
        await waitFor(() => control.stats().chunks > 0, 'the chunk', 30_000);
        const underruns = control.stats().underruns; // those before the chunk came
        // Counted in ticks, not time: a slower machine gets as many ticks to optimize the loop in, not fewer.
        while (windows.at(-1) !== 0 && windows.length < MAX_WINDOWS) {
          let grown = 0;
          let last = (await control.heapStatistics()!).used_heap_size;
          const from = control.stats().ticks;
          while (control.stats().ticks < from + WINDOW_TICKS) {
            // A heap sample period inside a window counted in loop ticks.
            // eslint-disable-next-line tests/no-fixed-wait -- time is under test (above)
            await new Promise((r) => setTimeout(r, 100));
            const used = (await control.heapStatistics()!).used_heap_size;
            // A drop is a collection: what was allocated since the last reading before it goes uncounted.
            grown += Math.max(0, used - last);
            last = used;
          }
          windows.push(Math.round(grown / (control.stats().ticks - from)));
        }
        expect(control.stats().underruns).toBe(underruns);
      } finally {
        await control.close();
        bus.close();
      }
      expect(windows.at(-1), `bytes a tick, per window of ${WINDOW_TICKS} ticks: ${windows.join(', ')}`).toBe(0);
      // Each command the bus got still holds its own values, though the loop encodes every one into the same bytes.
      const codec = new MessageCodec(new DefinitionsRegistry());
      const decoded = kept.map((d) =>
        Array.from(codec.decode<{ data: Float64Array }>('std_msgs/msg/Float64MultiArray', d).data),
      );
      expect(decoded).toEqual(commands.map((c) => c.values));
      expect(new Set(decoded.map((v) => v[0])).size).toBeGreaterThan(WINDOW_TICKS);
    },
  );
});
