import type { MetricFamily, MetricsProvider } from '../contract/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../lifecycle/index.ts';
import { counterBy, gauge } from '../util/index.ts';
import { DecodePool } from './vision/decode-pool.ts';

/**
 * Component `cameras`: the daemon's decode processes (DecodePool, under `cameras.decode_memory_mb`), which every
 * loop's cameras and every served policy's image inputs share. It starts none until a frame needs one.
 */
export class CamerasComponent implements Component, MetricsProvider {
  readonly name = 'cameras';
  readonly pool: DecodePool;
  #state: ComponentHealth['state'] = 'stopped';

  constructor(ctx: ComponentContext) {
    const { decode_processes: processes, decode_memory_mb: memoryMb } = ctx.config.cameras;
    this.pool = new DecodePool({ processes, memoryMb });
  }

  async start(): Promise<void> {
    this.#state = 'running';
  }

  async close(): Promise<void> {
    await this.pool.close();
    this.#state = 'stopped';
  }

  health(): ComponentHealth {
    const { processes, rssBytes, restarts } = this.pool.stats;
    return { state: this.#state, details: { processes, rss_bytes: rssBytes, restarts } };
  }

  metrics(): MetricFamily[] {
    const { processes, rssBytes, restarts } = this.pool.stats;
    return [
      gauge('auraison_frame_decode_processes', 'Frame decode processes running.', processes),
      gauge(
        'auraison_frame_decode_rss_bytes',
        "Frame decode processes' RSS after their last decode, summed.",
        rssBytes,
      ),
      counterBy(
        'auraison_frame_decode_restarts_total',
        'Frame decode processes ended: a decode past its budget, a crash, or memory past their share.',
        'why',
        restarts,
      ),
    ];
  }
}
