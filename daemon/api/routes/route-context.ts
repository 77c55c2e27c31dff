import type { MessageCodec } from '../../bus/index.ts';
import type { ApiSettings } from '../../config/index.ts';
import type { ComponentContext } from '../../lifecycle/index.ts';
import type { ListenerHalts } from '../../mcp/index.ts';
import type { ApiMetrics } from '../api-metrics.ts';
import type { ProcessMemory } from '../daemon-metrics.ts';
import type { Sampled } from '../sampled.ts';
import type { LiveMapHub } from '../live/live-map-hub.ts';
import type { SseHub } from '../sse/sse-hub.ts';

/** What every route plugin is registered with. */
export interface RouteContext {
  ctx: ComponentContext;
  settings: ApiSettings;
  codec: MessageCodec;
  hub: SseHub;
  live: LiveMapHub;
  metrics: ApiMetrics;
  /** The data dir's free bytes for the readiness check: one statfs serves the requests of a second. */
  freeBytes: Sampled<Promise<number>>;
  /** The process's memory for /metrics: one read serves the scrapes of a second. */
  memory: Sampled<ProcessMemory>;
  /** The stop listener's port while it listens (the status page sends its stops there), else undefined. */
  stopPort: () => string | undefined;
  /** Told the MCP gateway's part for the stop listener (with `mcp.enabled`). */
  mcpStops: (stops: ListenerHalts) => void;
}
