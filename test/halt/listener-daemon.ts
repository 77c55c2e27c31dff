import { readApiFile } from '../../daemon/api/index.ts';
import { PORTS, type JournalRecord } from '../../daemon/contract/index.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { HaltLine } from '../../daemon/halt/index.ts';
import type { Cleanup } from '../helpers/cleanups.ts';
import { startDaemon } from '../helpers/daemon.ts';

/**
 * A daemon with its stop listener on, no sim and no Foxglove: its API's URL, the listener's, and the stop line the
 * listener's thread reads. `config` is laid over that (its `api` and `motion.stop` merged into the listener's).
 */
export async function listenerDaemon(cleanups: Cleanup[], prefix: string, config: Record<string, unknown> = {}) {
  const { api, motion, ...rest } = config as { api?: Record<string, unknown>; motion?: { stop?: object } };
  const started = await startDaemon(
    {
      ...rest,
      api: { port: 0, ...api },
      motion: { ...motion, stop: { listener: true, ...motion?.stop } },
      foxglove: { enabled: false },
      sim: { enabled: false },
    },
    prefix,
  );
  cleanups.push(started.stop);
  const { daemon } = started;
  return {
    daemon,
    apiUrl: daemon.ports.get(PORTS.api)!.url!,
    stopUrl: readApiFile(daemon.dataDir)!.stop_url!,
    line: new HaltLine(daemon.haltAuthority.haltLine),
  };
}

/** The stop.engaged events' payloads the daemon's journal makes durable from now on. */
export function stopEvents(daemon: Daemon): Record<string, unknown>[] {
  const events: Record<string, unknown>[] = [];
  daemon.journal.subscribe((record: JournalRecord) => {
    const data = record.data as { kind?: string; payload?: Record<string, unknown> };
    if (data.kind === 'stop.engaged') events.push(data.payload!);
  });
  return events;
}
