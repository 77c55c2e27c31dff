import { cpSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A copy of the bag folder `from` at `<into>/<name>`, for a test to damage (never the fixture); its path. */
export function copyBag(from: string, into: string, name: string): string {
  const dir = join(into, name);
  cpSync(from, dir, { recursive: true });
  return dir;
}

/** Each entry of a folder: a file as its bytes (base64), a folder as `dir`. Equal before and after: nothing changed. */
export function folderSnapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    readdirSync(dir, { withFileTypes: true }).map((e) => [
      e.name,
      e.isFile() ? readFileSync(join(dir, e.name)).toString('base64') : 'dir',
    ]),
  );
}
