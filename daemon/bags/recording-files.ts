import { basename } from 'node:path';
import { BagError } from './errors.ts';

/**
 * The stem that the splits of one recording share: rosbag2 and the recorder name them `<bag>_<i>.mcap` (or `.db3`),
 * and older writers name a bag's one file `<bag>.mcap`, so `run_3.mcap` and `run.mcap` are both `run`'s.
 */
export function recordingStem(name: string): string {
  return /^(.+?)(?:_\d+)?\.(?:mcap|db3)$/.exec(name)?.[1] ?? name;
}

/** Which storage files in a bag directory are the bag's splits, and which are files of other recordings. */
export interface RecordingFiles {
  splits: string[];
  others: string[];
}

/**
 * Picks the splits of the one recording a bag directory holds out of the storage files `present` (names, in split
 * order), so that files of another recording are never read or repaired as its splits. The splits are those sharing
 * a stem with a file metadata.yaml lists (`listed`), else with the directory's name (as the recorder and rosbag2 name
 * them), else all of them when they share one stem. Files of more than one recording and nothing saying which is the
 * bag: a BagError naming each recording's files, and how to read or repair each on its own.
 */
export function recordingFiles(dir: string, present: string[], listed: string[]): RecordingFiles {
  const stems = [...new Set(present.map(recordingStem))];
  if (stems.length <= 1) return { splits: present, others: [] };
  const listedStems = new Set(listed.map((p) => recordingStem(basename(p))));
  const ours = listedStems.size > 0 ? listedStems : new Set(stems.filter((s) => s === basename(dir)));
  if (ours.size > 0) {
    return {
      splits: present.filter((f) => ours.has(recordingStem(f))),
      others: present.filter((f) => !ours.has(recordingStem(f))),
    };
  }
  const groups = stems.map((s) => present.filter((f) => recordingStem(f) === s).join(', '));
  const lone = present[0]!;
  throw new BagError(
    dir,
    `holds the files of ${stems.length} recordings (${groups.join('; ')}), and no metadata.yaml says which is the bag: nothing was read or changed. The splits of one recording are named <bag>_<i>.mcap; give the command one file on its own (${dir}/${lone}), or move each recording into a directory of its own`,
  );
}
