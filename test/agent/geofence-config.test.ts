import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runMain, tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

// motion.geofence.polygon with fewer than 3 points is no polygon, and the hook treated it as no fence:
// a fence written with one point too few (or cut short by a merge) let navigate_to send the robot
// anywhere, and the config check said "valid". Only the empty list means "no fence".

const cleanups = cleanupStack();

async function check(polygon: { x: number; y: number }[]) {
  const dir = tempDir('geofence-config-');
  cleanups.push(dir.cleanup);
  const file = join(dir.path, 'edge.yaml');
  writeFileSync(file, stringify({ motion: { geofence: { polygon } } }));
  return runMain(['config', 'check', '--config', file]);
}

describe('motion.geofence.polygon', () => {
  it('refuses a polygon of one or two points, naming the key, rather than run with no fence', async () => {
    for (const polygon of [
      [{ x: 0, y: 0 }],
      [
        { x: 0, y: 0 },
        { x: 4, y: 0 },
      ],
    ]) {
      const r = await check(polygon);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stdout).toContain('motion.geofence.polygon:');
    }
  });

  it('takes no points (no fence) and three or more', async () => {
    expect((await check([])).code).toBe(0);
    expect(
      (
        await check([
          { x: 0, y: 0 },
          { x: 4, y: 0 },
          { x: 4, y: 4 },
        ])
      ).code,
    ).toBe(0);
  });
});
