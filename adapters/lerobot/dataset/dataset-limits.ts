import { clipText } from '../../../daemon/util/index.ts';
import { DatasetError } from './dataset-types.ts';

/**
 * What a dataset may cost: one set of limits for the reader (`lerobot inspect`, `policy replay`) and the writer
 * (`lerobot export`), so that an export never writes what the reader then refuses. Each is checked before the work it
 * bounds is done: a template before it is filled in, a count before the rows are read, a frame's size before it is
 * decoded.
 */

/**
 * The most pixels a video frame may have: 8K UHD (7680 x 4320, 100 MB a frame as rgb24). A video feature declared
 * larger is refused before anything is decoded; an export refuses a camera image larger before it is decoded.
 */
export const MAX_VIDEO_PIXELS = 7680 * 4320;

/** A file name's bytes, as Linux's file systems take them (NAME_MAX). */
export const MAX_NAME_BYTES = 255;

/** A path's bytes, as Linux takes them (PATH_MAX). */
export const MAX_PATH_BYTES = 4096;

/** The widest zero-padded number a path template may ask for: an episode or file index has at most 16 digits. */
export const MAX_FIELD_WIDTH = 20;

/**
 * The most episodes a dataset may list: ten times DROID's 92,233, the largest LeRobot dataset. An episode's metadata
 * costs a few hundred bytes in memory, and as much again for each video feature's file and span.
 */
export const MAX_EPISODES = 1_000_000;

/**
 * The most frames a replay reads, or an export resamples to, unless told otherwise (--max-frames): 9.3 h at 30 fps,
 * held in memory as float32 values.
 */
export const DEFAULT_MAX_FRAMES = 1_000_000;

/** The most values a replay reads into memory, all features together: 1 GiB as float32. */
export const MAX_FRAME_VALUES = 256 * 1024 * 1024;

const utf8Bytes = (text: string): number => Buffer.byteLength(text, 'utf8');

/** A path or name in a message: its start, with its length where it is cut. */
export const shownName = (text: string): string =>
  text.length <= 120 ? JSON.stringify(text) : `${JSON.stringify(clipText(text, 120))} (${utf8Bytes(text)} bytes)`;

/**
 * Why `path` (relative, `/`-separated) cannot be a file's path on Linux: longer than PATH_MAX, or a name in it longer
 * than NAME_MAX; undefined when it can. Said before anything tries it, where the file system would say ENAMETOOLONG.
 */
export function pathTooLong(path: string): string | undefined {
  const bytes = utf8Bytes(path);
  if (bytes > MAX_PATH_BYTES) return `${bytes} bytes, more than a path may (${MAX_PATH_BYTES})`;
  const name = path.split('/').find((n) => utf8Bytes(n) > MAX_NAME_BYTES);
  if (name !== undefined)
    return `a name of ${utf8Bytes(name)} bytes, ${shownName(name)}, more than a file name may have (${MAX_NAME_BYTES})`;
  return undefined;
}

/**
 * The most episodes of video features a dataset may list (episodes times video features), each a file and a span the
 * reader holds: DROID's are 276,699.
 */
export const MAX_VIDEO_EPISODES = 2_000_000;

/**
 * Refuses a dataset whose metadata (`where`) lists more than MAX_EPISODES episodes, or more than MAX_VIDEO_EPISODES of
 * its `videoFeatures`; `count` is how many it lists, or has listed so far.
 */
export function checkEpisodeCount(count: number, where: string, videoFeatures = 0): void {
  if (count > MAX_EPISODES)
    throw new DatasetError(
      `${where} lists more than ${MAX_EPISODES} episodes, the most a dataset may (ten times the largest LeRobot dataset's): ` +
        'refused before they are read; split the dataset',
    );
  if (count * videoFeatures > MAX_VIDEO_EPISODES)
    throw new DatasetError(
      `${where} lists ${count} or more episodes of ${videoFeatures} video features, more than ${MAX_VIDEO_EPISODES} episode videos, the most a dataset may: ` +
        'refused before they are read; split the dataset',
    );
}
