/**
 * Gaps in a feature's samples inside an episode window: stretches with no sample far longer than the feature's
 * own period. Sample-and-hold carries the last sample across such a gap, so a window over several drives (the
 * span of a topic over the whole lakehouse) becomes one episode that holds a command through the time between
 * them. The export says so, with where and what to do, rather than merging drives in silence.
 */

/** A gap counts when it is this many times the feature's median sample interval... */
export const GAP_PERIODS = 10;
/** ...and longer than this many frames: a gap shorter than a frame or two changes no frame much... */
const GAP_FRAMES = 2;
/**
 * ...and than a second: a sim sped up 50x samples every few ms of log time, where a loaded machine's stall of tens of
 * ms is no gap between drives (a daemon's stop and start take seconds).
 */
const GAP_MIN_NS = 1e9;

export interface SampleGap {
  /** The last sample before the gap and the first after it, in ns. */
  fromNs: bigint;
  toNs: bigint;
  /** The feature's median interval between samples in the window, in ns. */
  periodNs: number;
}

/**
 * The gaps in `times` (ascending, ns) between `startNs` and `endNs`, longest first. None with fewer than 3
 * samples in the window: there is no period to measure a gap against.
 */
export function sampleGaps(
  times: readonly bigint[],
  startNs: bigint,
  endNs: bigint,
  framePeriodNs: number,
): SampleGap[] {
  const inside = times.filter((t) => t >= startNs && t <= endNs);
  if (inside.length < 3) return [];
  const intervals = inside.slice(1).map((t, i) => Number(t - inside[i]!));
  const periodNs = median(intervals);
  const threshold = Math.max(GAP_PERIODS * periodNs, GAP_FRAMES * framePeriodNs, GAP_MIN_NS);
  const gaps: SampleGap[] = [];
  intervals.forEach((interval, i) => {
    if (interval > threshold) gaps.push({ fromNs: inside[i]!, toNs: inside[i + 1]!, periodNs });
  });
  return gaps.sort((a, b) => Number(b.toNs - b.fromNs - (a.toNs - a.fromNs)));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** A duration in ns, in words a person reads at a glance. */
function seconds(ns: number): string {
  const s = ns / 1e9;
  return s >= 1 ? `${s.toFixed(1)} s` : `${(s * 1000).toFixed(1)} ms`;
}

/** The warning for one feature's gaps in one episode: the longest named, with how to export each drive alone. */
export function gapWarning(
  episode: number,
  feature: { key: string; relation: string },
  gaps: readonly SampleGap[],
  framePeriodNs: number,
): string {
  const longest = gaps[0]!;
  const length = Number(longest.toNs - longest.fromNs);
  const held = Math.floor(length / framePeriodNs);
  const more =
    gaps.length > 1
      ? ` (and ${gaps.length - 1} more gap${gaps.length > 2 ? 's' : ''} over ${GAP_PERIODS} times its period)`
      : '';
  const relation = feature.relation.replaceAll("'", "''");
  return (
    `episode ${episode}: feature ${feature.key} (${feature.relation}) has no sample for ${seconds(length)} ` +
    `(${longest.fromNs} to ${longest.toNs} ns), ${Math.round(length / longest.periodNs)} times its median period of ${seconds(longest.periodNs)}${more}: ` +
    `about ${held} frames hold its last sample across it, as if one recording ran through. If the window spans several drives, ` +
    `export each as its own --episode: auraison-edge query "SELECT bag, min(log_time), max(log_time) FROM messages WHERE topic = '${relation}' GROUP BY bag ORDER BY 2" --csv ` +
    'gives each bag\'s span (docs/system1.md, "One episode per drive")'
  );
}
