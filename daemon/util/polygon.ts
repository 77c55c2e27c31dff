type Point = { x: number; y: number };

const show = (points: readonly Point[], i: number): string => `[${i}] (${points[i]!.x}, ${points[i]!.y})`;

/**
 * What keeps `points` (in order, the last joined to the first) from being a simple polygon, a region with
 * an inside: a vertex that is not finite, a point given twice, a vertex on the straight line between its
 * neighbours (it bounds nothing; often a typo), edges that cross or touch (a bow-tie fences two regions or
 * none, and ray casting then lets goals through where it should not), no area at all. Each problem names
 * its vertices by index and value, as they appear in the list. Empty when it is a region.
 */
export function polygonProblems(points: readonly Point[]): string[] {
  const n = points.length;
  const problems: string[] = [];
  const bad = points.findIndex((p) => !Number.isFinite(p.x) || !Number.isFinite(p.y));
  if (bad !== -1) return [`vertex ${show(points, bad)} is not a finite point`];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (points[i]!.x !== points[j]!.x || points[i]!.y !== points[j]!.y) continue;
      const closing = i === 0 && j === n - 1 ? ': the polygon closes by itself, leave out the last point' : '';
      problems.push(`vertices ${show(points, i)} and ${show(points, j)} are the same point${closing}`);
    }
  }
  if (problems.length > 0) return problems;
  const o = points[0]!;
  const scale = Math.max(...points.map((p) => Math.max(Math.abs(p.x - o.x), Math.abs(p.y - o.y))));
  // Cross products are of squared lengths: compare them with the polygon's extent, squared.
  const flat = (v: number) => Math.abs(v) <= 1e-12 * scale * scale;
  if (points.every((p, i) => i < 2 || flat(cross(o, points[1]!, p))))
    return ['the points lie on one line: they enclose no area'];
  for (let i = 0; i < n; i++) {
    const prev = (i + n - 1) % n;
    const next = (i + 1) % n;
    if (flat(cross(points[prev]!, points[i]!, points[next]!)))
      problems.push(`vertex ${show(points, i)} lies on the line from ${show(points, prev)} to ${show(points, next)}`);
  }
  for (let i = 0; i < n; i++) {
    for (let j = i + 2; j < n; j++) {
      if (i === 0 && j === n - 1) continue; // adjacent through the closing edge
      const [a, b, c, d] = [points[i]!, points[i + 1]!, points[j]!, points[(j + 1) % n]!];
      if (segmentsMeet(a, b, c, d, flat))
        problems.push(
          `edge ${show(points, i)}-${show(points, i + 1)} crosses edge ${show(points, j)}-${show(points, (j + 1) % n)}`,
        );
    }
  }
  if (problems.length > 0) return problems;
  let area2 = 0;
  for (let i = 0; i < n; i++) area2 += cross(o, points[i]!, points[(i + 1) % n]!);
  return flat(area2) ? ['the points enclose no area'] : [];
}

/** (b - a) x (c - a): > 0 when c is left of a->b. */
function cross(a: Point, b: Point, c: Point): number {
  return (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x);
}

/** Whether segments ab and cd share a point (crossing, or one touching the other). */
function segmentsMeet(a: Point, b: Point, c: Point, d: Point, flat: (v: number) => boolean): boolean {
  const d1 = cross(c, d, a);
  const d2 = cross(c, d, b);
  const d3 = cross(a, b, c);
  const d4 = cross(a, b, d);
  if (
    ((d1 > 0 && d2 < 0) || (d1 < 0 && d2 > 0)) &&
    ((d3 > 0 && d4 < 0) || (d3 < 0 && d4 > 0)) &&
    !flat(d1) &&
    !flat(d2) &&
    !flat(d3) &&
    !flat(d4)
  )
    return true;
  const within = (p: Point, q: Point, r: Point) =>
    Math.min(p.x, q.x) <= r.x && r.x <= Math.max(p.x, q.x) && Math.min(p.y, q.y) <= r.y && r.y <= Math.max(p.y, q.y);
  return (
    (flat(d1) && within(c, d, a)) ||
    (flat(d2) && within(c, d, b)) ||
    (flat(d3) && within(a, b, c)) ||
    (flat(d4) && within(a, b, d))
  );
}
