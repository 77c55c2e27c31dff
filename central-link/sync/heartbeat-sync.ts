import type { SyncStatus } from './sync-manager.ts';

/** What a heartbeat says of bulk sync, for central's fleet page and `central robots`: small, flat, for now. */
export interface HeartbeatSync {
  awaiting_files: number;
  awaiting_bytes: number;
  /** The file uploading now, and how far: `bags/x/x_0.mcap 41%`. */
  uploading: string | null;
  /** Stored and failed uploads since the daemon started. */
  stored: number;
  failed: number;
  /** Who holds bulk uploads: `local`, `central` or `window` (outside central.upload_windows). */
  paused: string | null;
  last_error: string | null;
  last_error_at: string | null;
}

export function heartbeatSync(status: SyncStatus): HeartbeatSync {
  const { current } = status;
  const percent = current && current.size > 0 ? Math.floor((100 * current.sent) / current.size) : 0;
  return {
    awaiting_files: status.awaiting.files,
    awaiting_bytes: status.awaiting.bytes,
    uploading: current ? `${current.path} ${percent}%` : null,
    stored: status.uploads.done,
    failed: status.uploads.failed,
    paused: status.paused?.by ?? null,
    last_error: status.last_error,
    last_error_at: status.last_error_at,
  };
}
