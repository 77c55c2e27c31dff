import { relative } from 'node:path';
import { lfsPointerMessage, readLfsPointer } from '../../../daemon/util/index.ts';
import type { DatasetFolder } from './dataset-folder.ts';
import { episodeDataPath } from './dataset-metadata.ts';
import { DatasetError, type LeRobotEpisode, type LeRobotFeature } from './dataset-types.ts';

/**
 * A dataset cloned without `git lfs` holds pointers in place of its files. Pointers among the files that
 * are read (meta/, data/) are a DatasetError saying so and what to do (reading one failed with "line 1 is
 * not JSON"); pointers among the videos, which inspect does not read, are a warning.
 */
export function checkLfsPointers(folder: DatasetFolder, warnings: string[]): void {
  const read = [...folder.list('meta', ''), ...folder.list('data', '')].filter((f) => readLfsPointer(f));
  if (read.length > 0) throw new DatasetError(lfsPointerMessage(read, 'dataset file'));
  const videos = folder.list('videos', '').filter((f) => readLfsPointer(f));
  if (videos.length > 0) warnings.push(lfsPointerMessage(videos, 'video'));
}

/**
 * The videos info.json declares that are not there, said as a warning with their count and the first one:
 * a v2.x dataset names a file per episode and video feature (video_path); for one without the template
 * (v3.0 packs episodes into files), a video feature with no .mp4 under videos/ at all is said.
 */
export function warnAbsentVideos(
  folder: DatasetFolder,
  info: { video_path?: string | null; total_videos?: number; chunks_size?: number },
  features: Record<string, LeRobotFeature>,
  episodes: readonly LeRobotEpisode[],
  warnings: string[],
): void {
  const keys = Object.entries(features)
    .filter(([, f]) => f.dtype === 'video')
    .map(([k]) => k);
  if (keys.length === 0 && !info.total_videos) return;
  const present = folder.list('videos', '.mp4').map((f) => relative(folder.root, f));
  const none = present.length === 0 ? ' (there is no .mp4 under videos/)' : '';
  if (info.video_path && !info.video_path.includes('{file_index')) {
    const have = new Set(present);
    // Counted, not listed: a list would hold a path per episode and video feature.
    let absent = 0;
    let first: string | undefined;
    for (const key of keys) {
      const template = info.video_path.replaceAll('{video_key}', key);
      for (const e of episodes) {
        const path = episodeDataPath(template, e.episode_index, info.chunks_size ?? 1000);
        if (have.has(path)) continue;
        absent++;
        first ??= path;
      }
    }
    if (absent === 0) return;
    const declared = keys.length * episodes.length;
    warnings.push(
      `info.json declares ${declared} video${declared === 1 ? '' : 's'} (video_path, per episode and video feature); ${absent} ${absent === 1 ? 'is' : 'are'} absent, first ${first}${none}`,
    );
    return;
  }
  // v3.0 packs episodes into files: what can be told is a video feature with no file, or fewer files than declared.
  const bare = keys.filter((key) => !present.some((p) => p.split('/').includes(key)));
  const short =
    info.total_videos !== undefined && present.length < info.total_videos ? info.total_videos - present.length : 0;
  if (bare.length === 0 && short === 0) return;
  const count = Math.max(short, bare.length);
  const first = bare.length > 0 ? `videos/${bare[0]}/` : 'videos/';
  warnings.push(
    `info.json declares ${info.total_videos ?? keys.length} video${(info.total_videos ?? keys.length) === 1 ? '' : 's'}; ${count} ${count === 1 ? 'is' : 'are'} absent, first under ${first}${none}`,
  );
}
