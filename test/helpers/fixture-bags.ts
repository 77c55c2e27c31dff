import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from './paths.ts';

/** Every bag directory (one holding metadata.yaml) under the fixtures' rosbag2/ and rosbags-rs/, sorted. */
export function fixtureBagDirs(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    const names = readdirSync(dir);
    if (names.includes('metadata.yaml')) out.push(dir);
    for (const n of names) if (statSync(join(dir, n)).isDirectory()) walk(join(dir, n));
  };
  walk(join(FIXTURES, 'bags', 'rosbag2'));
  walk(join(FIXTURES, 'bags', 'rosbags-rs'));
  return out.sort();
}
