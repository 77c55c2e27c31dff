import type { ComponentHealth } from '../lifecycle/index.ts';
import { printable } from '../util/index.ts';

/** A loop's figures as the control component's health details give them (loops-health.ts). */
interface LoopFigures {
  ticks?: number;
  stale_ticks?: number;
  observation_errors?: number;
  missed_deadlines?: number;
  held_actions?: number;
  latency_p50_ms?: number | null;
  latency_p99_ms?: number | null;
  alive?: boolean;
  starting?: boolean;
  blind?: string;
  unheard?: string;
  waiting?: string;
  fault?: string;
  /** A remote policy's link (remoteDetails in loops-health.ts). */
  remote?: {
    endpoint: string;
    state: string;
    rtt_p50_ms: number | null;
    rtt_p99_ms: number | null;
    chunks: number;
    failures: Record<string, number>;
    last_error: string | null;
  };
}

const cell = (v: number | null | undefined) => (typeof v === 'number' ? String(v) : '-');

/**
 * The `control loops:` lines of `status`: each loop's ticks, stale ticks, refused observations, missed deadlines
 * and latency, then what holds it or is wrong with it (held after a release, blind, a fault). Empty without loops.
 */
export function loopsTable(control: ComponentHealth | undefined): string[] {
  // A failed component's details are the supervisor's (its retries), not loops: the loops are said not to run.
  if (control?.state === 'failed')
    return ['', `control loops: NOT RUNNING, the control component failed: ${printable(control.reason ?? 'unknown')}`];
  const loops = Object.entries((control?.details ?? {}) as Record<string, unknown>).filter(
    (entry): entry is [string, LoopFigures] => typeof entry[1] === 'object' && entry[1] !== null,
  );
  if (loops.length === 0) return [];
  const nw = Math.max(12, ...loops.map(([name]) => name.length));
  const head = ['ticks', 'stale', 'refused', 'missed', 'held', 'p50 ms', 'p99 ms'];
  const lines = ['', 'control loops:', `  ${'loop'.padEnd(nw)} ${head.map((h) => h.padStart(8)).join(' ')}`];
  for (const [name, l] of loops) {
    const figures = [
      l.ticks,
      l.stale_ticks,
      l.observation_errors,
      l.missed_deadlines,
      l.held_actions,
      l.latency_p50_ms,
      l.latency_p99_ms,
    ];
    const state = l.starting ? ' starting' : l.alive === false ? ' NOT TICKING' : '';
    lines.push(`  ${name.padEnd(nw)} ${figures.map((f) => cell(f).padStart(8)).join(' ')}${state}`);
    if (l.waiting) lines.push(`    HELD at its safe action: ${printable(l.waiting)}`);
    if (l.blind) lines.push(`    BLIND, sending its safe action: ${printable(l.blind)}`);
    if (l.unheard) lines.push(`    UNHEARD, its commands move nothing: ${printable(l.unheard)}`);
    if (l.remote) lines.push(`    ${remoteLine(l.remote)}`);
    if (l.fault) lines.push(`    ${printable(l.fault)}`);
  }
  return lines;
}

/** `remote openpi ws://gpu:8000 up, 41 chunks, round trip p50 23.1, p99 29.4 ms, failures: timeout 1 (last: ...)`. */
function remoteLine(r: NonNullable<LoopFigures['remote']>): string {
  const failures = Object.entries(r.failures);
  const failed = failures.length
    ? `, failures: ${failures.map(([why, n]) => `${why} ${n}`).join(', ')} (last: ${r.last_error ?? '-'})`
    : '';
  return printable(
    `remote ${r.endpoint} ${r.state}, ${r.chunks} chunks, round trip p50 ${cell(r.rtt_p50_ms)}, p99 ${cell(r.rtt_p99_ms)} ms${failed}`,
  );
}
