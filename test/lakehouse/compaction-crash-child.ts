import { compactLakehouse } from '../../daemon/lakehouse/compaction.ts';

/**
 * Compacts the lakehouse of the data dir at argv[2] (everything finished, whatever its age) and dies by
 * SIGKILL, as a power cut or the OOM killer would, right after step argv[3] (`staged`, `moved` or
 * `committed`) of the first merge whose key starts with argv[4] (`segments` or `events`).
 */
const [dataDir, step, merge] = process.argv.slice(2) as [string, 'staged' | 'moved' | 'committed', string];
const die = (key: string) => {
  if (key.startsWith(merge)) process.kill(process.pid, 'SIGKILL');
};
await compactLakehouse({ dataDir, afterS: 0, maxBytes: 256 * 1024 * 1024, hooks: { [step]: die } });
process.stdout.write('finished without being killed\n');
