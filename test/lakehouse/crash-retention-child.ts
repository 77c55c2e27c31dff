import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

/**
 * A retention pass that dies by SIGKILL right after it deletes the first file whose path matches argv[3]
 * (a regular expression: `\.mcap$` for a recorded split, `/messages/.*\.parquet$` for a segment's
 * `messages` file), before the rest of the pass (the bag's metadata.yaml, the other files, the catalog
 * rows), as a power cut or the OOM killer would. argv[2]: the data dir; argv[4]: max_bytes. fs.rmSync is
 * swapped before retention.ts is loaded, and syncBuiltinESMExports carries the swap to `import { rmSync }
 * from 'node:fs'`.
 */
const [dataDir, pattern, maxBytes] = process.argv.slice(2) as [string, string, string];
const rmSync = fs.rmSync;
fs.rmSync = ((path: fs.PathLike, options?: fs.RmOptions) => {
  rmSync(path, options);
  if (new RegExp(pattern).test(String(path))) process.kill(process.pid, 'SIGKILL');
}) as typeof fs.rmSync;
syncBuiltinESMExports();
const { applyRetention } = await import('../../daemon/lakehouse/retention.ts');
await applyRetention({
  dataDir,
  settings: { max_bytes: Number(maxBytes), max_age_hours: 0, allow_unsynced_delete: true },
  syncRequired: false,
});
