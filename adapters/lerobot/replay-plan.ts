import { lengthMismatches, type DataFigures } from './dataset/data-check.ts';
import type { FrameRead } from './dataset/dataset-frames.ts';
import { DatasetError, type LeRobotDatasetSummary } from './dataset/dataset-types.ts';

export interface ReplayPlanOptions {
  dataset: string;
  summary: LeRobotDatasetSummary;
  /** What the data files hold, counted. */
  data: DataFigures;
  /** The episodes asked for; all the data holds when undefined. */
  episodes?: readonly number[];
  /** The most frames the replay may read. */
  maxFrames: number;
}

/**
 * Which frames a replay reads, decided from the counts before any frame is read: the episodes asked for (all the data
 * holds when none are), each held to the length its metadata declares, and at most `maxFrames` in all. What cannot be
 * replayed as asked is refused, naming the episodes: replaying other frames than the user meant would report an error
 * over other data.
 */
export function replayPlan(options: ReplayPlanOptions): FrameRead {
  const { dataset, summary, data, episodes, maxFrames } = options;
  if (data.unindexed > 0)
    throw new DatasetError(
      `${dataset}: ${data.unindexed} frames of the data have no episode_index, so no episode they belong to: fix the dataset (lerobot inspect names the files)`,
    );
  const wanted = episodes ? [...new Set(episodes)] : [...data.lengths.keys()];
  if (data.lengths.size === 0 || (episodes && wanted.every((e) => !data.lengths.has(e))))
    throw new DatasetError(`no frames in ${dataset}${episodes ? ` for episodes ${episodes.join(', ')}` : ''}`);
  const missing = wanted.filter((e) => !data.lengths.has(e));
  if (missing.length > 0) {
    const listed = summary.episodes.map((e) => e.episode_index);
    throw new DatasetError(
      `${dataset} has no frames for episode${missing.length > 1 ? 's' : ''} ${missing.join(', ')}${listed.length ? ` (its metadata lists ${listed.length} episodes, ${listed[0]}..${listed[listed.length - 1]})` : ''}`,
    );
  }
  const differ = lengthMismatches(summary.episodes, data.lengths, new Set(wanted));
  if (differ.count > 0)
    throw new DatasetError(
      `${dataset}: ${differ.first.join('; ')}${differ.count > 3 ? `; and ${differ.count - 3} more episodes` : ''}: ` +
        'an episode is replayed only as its metadata declares it; refused before any frame is read. ' +
        'Fix the dataset (lerobot inspect lists what differs), or replay other episodes (--episodes)',
    );
  let frames = 0;
  for (const e of wanted) frames += data.lengths.get(e)!;
  if (frames > maxFrames)
    throw new DatasetError(
      `${dataset}: the ${wanted.length} episode${wanted.length === 1 ? '' : 's'} to replay hold ${frames} frames, more than ${maxFrames} (--max-frames): ` +
        'replay fewer (--episodes), or raise --max-frames',
    );
  return { ...(episodes ? { episodes: wanted } : {}), frames };
}
