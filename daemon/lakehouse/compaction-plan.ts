/**
 * Which parquet files compaction merges: pure planning over what the catalog lists (see compaction.ts for
 * the merge itself).
 *
 * The unit is a group of segments that share files (see segmentGroups: one split, the splits of one
 * import, or a group compaction made before) or, for the events table, one file. Units are merged only
 * with their neighbours in commit order (`seq`), so a merged group's segments stay consecutive and
 * retention, which deletes oldest first by `seq` and a group whole, keeps its order.
 *
 * Which neighbours: by levels, as a size-tiered LSM does. A unit's level is how many times FANOUT its
 * member count reaches (a split: 0; 6 to 35 splits: 1; 36 to 215: 2, ...), and FANOUT consecutive units of
 * one level merge into one unit of the next. Merging by age alone would either leave small groups (a pass
 * every 10 minutes merges 10 minutes of splits) or rewrite the newest group at every pass as splits trickle
 * in (each byte written again dozens of times). With levels each byte is rewritten once per level (2 or 3
 * times), and at most FANOUT - 1 units per level are left unmerged. `maxBytes` caps a merged group (its
 * parquet and its recorded splits: what retention then deletes at once): FANOUT units that would pass it
 * merge as many of the oldest as fit, and a unit past half the cap is done (sealed) and never merged again.
 */

/** Units of one level merged into one of the next. */
export const FANOUT = 6;

/** Something compaction may merge: a group of segments, or an events file. */
export interface PlanUnit {
  /** Segments (or events flushes) it holds: its level comes from this. */
  members: number;
  /** Bytes it counts for the cap: its parquet files, plus the recorded splits of its segments. */
  bytes: number;
  /** Whether it may be merged now: old enough, on disk, not synced to central, under half the cap. */
  eligible: boolean;
}

/** The level of a unit of `members` members: floor(log_FANOUT(members)). */
export function level(members: number): number {
  let l = 0;
  for (let m = members; m >= FANOUT; m = Math.floor(m / FANOUT)) l++;
  return l;
}

interface Entry<U> {
  units: U[];
  members: number;
  bytes: number;
}

/**
 * The merges to make over `units`, given in commit order (oldest first): runs of consecutive units, each to
 * become one. An ineligible unit breaks a run (nothing is merged across it). Oldest first.
 */
export function planMerges<U extends PlanUnit>(units: readonly U[], maxBytes: number, fanout = FANOUT): U[][] {
  const merges: U[][] = [];
  let stack: Entry<U>[] = [];
  const close = () => {
    for (const e of stack) if (e.units.length > 1) merges.push(e.units);
    stack = [];
  };
  const sealed = (e: Entry<U>) => e.bytes > maxBytes / 2;
  for (const u of units) {
    if (!u.eligible || sealed({ units: [u], members: u.members, bytes: u.bytes })) {
      close();
      continue;
    }
    stack.push({ units: [u], members: u.members, bytes: u.bytes });
    for (;;) {
      const top = level(stack.at(-1)!.members);
      let same = 0;
      while (same < stack.length && level(stack[stack.length - 1 - same]!.members) === top) same++;
      if (same < fanout) break;
      const candidates = stack.slice(-fanout);
      let n = 0;
      let bytes = 0;
      while (n < candidates.length && bytes + candidates[n]!.bytes <= maxBytes) bytes += candidates[n++]!.bytes;
      const merged: Entry<U> = {
        units: candidates.slice(0, n).flatMap((e) => e.units),
        members: candidates.slice(0, n).reduce((m, e) => m + e.members, 0),
        bytes,
      };
      stack.splice(stack.length - fanout, n, merged);
      if (sealed(merged)) {
        // As big as a group gets: what came before it can't merge across it, so those runs end here.
        const at = stack.indexOf(merged);
        const rest = stack.slice(at + 1);
        stack = stack.slice(0, at + 1);
        close();
        stack = rest;
        break;
      }
    }
  }
  close();
  return merges;
}
