/**
 * Segments that share parquet files, as groups: each group is the smallest set of segments (rows of `bags`)
 * such that no file a member lists is listed by a segment outside it. A segment that shares nothing is a
 * group of its own. Files are shared by the segments of one import (a batch may hold rows of several of its
 * splits) and by the members of a compacted group (see compaction.ts): retention deletes such a group whole,
 * since its files hold the rows of every member, and compaction merges groups, never parts of one.
 *
 * Returns each group's members in the order given.
 */
export function segmentGroups<S extends { id: string; parquet: readonly string[] }>(segments: readonly S[]): S[][] {
  const parent = segments.map((_, i) => i);
  const find = (i: number): number => {
    while (parent[i] !== i) {
      parent[i] = parent[parent[i]!]!;
      i = parent[i]!;
    }
    return i;
  };
  const owner = new Map<string, number>();
  segments.forEach((s, i) => {
    for (const f of s.parquet) {
      const o = owner.get(f);
      if (o === undefined) owner.set(f, i);
      else parent[find(i)] = find(o);
    }
  });
  const groups = new Map<number, S[]>();
  segments.forEach((s, i) => {
    const root = find(i);
    const g = groups.get(root);
    if (g) g.push(s);
    else groups.set(root, [s]);
  });
  return [...groups.values()];
}
