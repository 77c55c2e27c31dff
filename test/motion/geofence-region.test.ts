import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// motion.geofence.polygon must be a region: a bow-tie, repeated or collinear points and a fence of no area
// passed the config check, and ray casting then waved goals through where the fence should hold (or let
// none in). `config check` (and so `run` and a reload) refuses them, naming the key and the vertices.

const cleanups = cleanupStack();

async function check(points: [number, number][]): Promise<{ code: number; text: string }> {
  const dir = tempDir('geofence-');
  cleanups.push(dir.cleanup);
  const file = join(dir.path, 'edge.yaml');
  const polygon = points.map(([x, y]) => `      - { x: ${x}, y: ${y} }`).join('\n');
  writeFileSync(file, `data_dir: ./data\nmotion:\n  geofence:\n    polygon:\n${polygon}\n`);
  const r = await runMain(['config', 'check', '--config', file], { cwd: dir.path });
  return { code: r.code ?? -1, text: r.stdout + r.stderr };
}

describe('a geofence', () => {
  it.each([
    [
      'a bow-tie (self-intersecting)',
      [
        [0, 0],
        [2, 2],
        [2, 0],
        [0, 2],
      ],
      'edge [0] (0, 0)-[1] (2, 2) crosses edge [2] (2, 0)-[3] (0, 2)',
    ],
    [
      'a repeated point',
      [
        [0, 0],
        [2, 0],
        [2, 0],
        [0, 2],
      ],
      'vertices [1] (2, 0) and [2] (2, 0) are the same point',
    ],
    [
      'the first point again at the end',
      [
        [0, 0],
        [2, 0],
        [2, 2],
        [0, 0],
      ],
      'the polygon closes by itself, leave out the last point',
    ],
    [
      'a vertex on the line between its neighbours',
      [
        [0, 0],
        [1, 0],
        [2, 0],
        [2, 2],
      ],
      'vertex [1] (1, 0) lies on the line from [0] (0, 0) to [2] (2, 0)',
    ],
    [
      'points on one line (no area)',
      [
        [0, 0],
        [1, 1],
        [3, 3],
      ],
      'the points lie on one line: they enclose no area',
    ],
    [
      'an edge that touches another',
      [
        [0, 0],
        [4, 0],
        [4, 4],
        [2, 0],
        [0, 4],
      ],
      'crosses edge',
    ],
  ] as [string, [number, number][], string][])(
    'is refused when it is %s, naming the key and the vertices',
    async (_what, points, message) => {
      const { code, text } = await check(points);
      expect(code).toBe(2);
      expect(text).toContain('motion.geofence.polygon: not a region: ');
      expect(text).toContain(message);
    },
  );

  it.each([
    [
      'a square',
      [
        [0, 0],
        [4, 0],
        [4, 4],
        [0, 4],
      ],
    ],
    [
      'a concave L, listed clockwise',
      [
        [0, 0],
        [0, 4],
        [1, 4],
        [1, 1],
        [4, 1],
        [4, 0],
      ],
    ],
    [
      'a triangle far from the origin',
      [
        [1e6, 1e6],
        [1e6 + 0.5, 1e6],
        [1e6, 1e6 + 0.5],
      ],
    ],
  ] as [string, [number, number][]][])('passes when it is %s', async (_what, points) => {
    const { code, text } = await check(points);
    expect(code, text).toBe(0);
  });
});
