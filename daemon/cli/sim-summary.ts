import type { CommandIO } from '../cli-kit/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import { PORTS, type Ports } from '../contract/index.ts';
import type { DaemonStatus } from '../lifecycle/index.ts';
import { shellWord } from './shell-command.ts';

// What the sim's main job reports at its start and in its summary: where to watch, what the bus carried, where the
// drive was recorded and what to try on it.

/** Where to watch the run live: the status page and the Foxglove server, when they are running. */
export function watchHints(daemon: { ports: Ports }): string {
  const api = daemon.ports.get(PORTS.api)?.url;
  const foxglove = daemon.ports.get(PORTS.foxglove)?.url;
  const lines = [
    api ? `  watch it live: ${api}/ (status page with the map)` : undefined,
    foxglove ? `  or in Foxglove / Lichtblick: open a connection to ${foxglove}` : undefined,
  ].filter(Boolean);
  return lines.length > 0 ? `${lines.join('\n')}\n` : '';
}

/** What every summary reports: messages per topic, and drops over every subscriber. */
export function busSummary(status: DaemonStatus) {
  return {
    messages: Object.fromEntries(status.topics.map((t) => [t.topic, t.count])),
    dropped: status.subscribers.reduce((n, s) => n + s.dropped, 0),
  };
}

/**
 * The components that are failed (their start failed, and no retry has brought them up), with why. The daemon runs on
 * without them, as a robot's must, but a sim run without a part its config asked for is not the run asked for.
 */
export function failedComponents(status: DaemonStatus): Record<string, string> {
  return Object.fromEntries(
    Object.entries(status.components)
      .filter(([, health]) => health.state === 'failed')
      .map(([name, health]) => [name, health.reason ?? 'failed']),
  );
}

/** The summary's line for failedComponents (none when none failed). */
export function failedLines(failed: Record<string, string>): string[] {
  const entries = Object.entries(failed);
  if (entries.length === 0) return [];
  return [`  failed components (exit 1): ${entries.map(([name, reason]) => `${name}: ${reason}`).join('; ')}`];
}

/**
 * Closes the split being recorded and waits for the lakehouse to index it, so the query the summary offers
 * counts the whole drive: the daemon's stop interrupts an index in progress (it resumes at the next start).
 */
export async function indexLastSplit(daemon: { ports: Ports }): Promise<void> {
  const recorder = daemon.ports.get(PORTS.recorder);
  const lakehouse = daemon.ports.get(PORTS.lakehouse);
  if (!recorder || !lakehouse?.splitIndexing) return;
  // Paused first: what the sim publishes while the daemon stops would go in a split the stop leaves unindexed.
  recorder.pause();
  const closed = await recorder.split().catch(() => undefined);
  if (closed) await lakehouse.splitIndexing(closed.file);
}

/** The bag directories the recorder wrote during the drive (none when it is not configured). */
export function recordedBags(daemon: { ports: Ports }): string[] {
  return [...(daemon.ports.get(PORTS.recorderBags)?.bags ?? [])];
}

/** Where the drive was recorded, and what to try on it (commands as `self` runs them, see CommandIO.self). */
export function recordingLines(
  bags: string[],
  config: EdgeConfig,
  { cwd, self = 'auraison-edge' }: Pick<CommandIO, 'cwd' | 'self'>,
): string[] {
  if (bags.length === 0) return [];
  const shown = bags.map((b) => (b.startsWith(`${cwd}/`) ? b.slice(cwd.length + 1) : b));
  const tries = [
    ...(config.lakehouse.enabled ? [`${self} query 'SELECT count(*), max("pose.pose.position.x") FROM "/odom"'`] : []),
    `${self} bag info ${shellWord(shown[shown.length - 1]!)}`,
  ];
  return [
    `  recorded: ${shown.join(', ')}${config.lakehouse.enabled ? ' (indexed in the lakehouse)' : ''}`,
    ...tries.map((t, i) => `  ${i === 0 ? 'try:' : '    '}      ${t}`),
  ];
}

export const round = (v: number, digits: number) => Math.round(v * 10 ** digits) / 10 ** digits;
