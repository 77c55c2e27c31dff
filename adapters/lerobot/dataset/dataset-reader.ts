import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { checkData, lengthMismatches, type DataFigures } from './data-check.ts';
import { checkLfsPointers, warnAbsentVideos } from './dataset-files.ts';
import { DatasetFolder, UnsafeDatasetError } from './dataset-folder.ts';
import { checkEpisodeCount, MAX_EPISODES } from './dataset-limits.ts';
import { episodeDataPath, forEachJsonLine, parseEpisode, parseInfo, parseStats, readJson } from './dataset-metadata.ts';
import {
  DatasetError,
  type FeatureStats,
  type LeRobotDatasetSummary,
  type LeRobotEpisode,
  type LeRobotTask,
} from './dataset-types.ts';
import { datasetVideos } from './dataset-videos.ts';
import { filesNamed, withParquet, type ParquetFiles } from './dataset-parquet.ts';
import { sqlIdent } from './duckdb.ts';
import { StatsAggregator } from './stats.ts';

/**
 * Reads a LeRobot dataset's metadata (v2.0/v2.1: JSON lines; v3.0: parquet) and counts its frames from the
 * data files, so a dataset whose metadata disagrees with its data says so. Every file it reads or lists is checked
 * against the dataset's folder first (DatasetFolder): one outside it, or not a regular file, refuses the dataset.
 */
export async function readLeRobotDataset(root: string): Promise<LeRobotDatasetSummary> {
  return (await readDataset(root)).summary;
}

/** readLeRobotDataset's summary, with what the data files hold counted (each episode's frames). */
export async function readDataset(root: string): Promise<{ summary: LeRobotDatasetSummary; data: DataFigures }> {
  const infoPath = join(root, 'meta', 'info.json');
  if (!existsSync(infoPath)) {
    throw new DatasetError(
      `${root} is not a LeRobot dataset: no meta/info.json${existsSync(root) && statSync(root).isDirectory() ? '' : ' (the directory does not exist)'}`,
    );
  }
  const warnings: string[] = [];
  const folder = new DatasetFolder(root);
  checkLfsPointers(folder, warnings);
  const info = parseInfo(readJson(folder, folder.file(infoPath)), infoPath);
  const version = info.codebase_version;
  const major = version.replace(/^v/, '').split('.')[0];
  if (major !== '2' && major !== '3')
    throw new DatasetError(`${root}: codebase_version ${version} is not supported (v2.0, v2.1 and v3.0 are)`);
  const { features } = info;
  const dataFiles = folder.list('data', '.parquet');
  const videoFiles = folder.list('videos', '.mp4');
  for (const [key, f] of Object.entries(features)) {
    // Image and video names label the axes (height, width, channel), not the elements.
    if (f.dtype === 'image' || f.dtype === 'video' || !f.names) continue;
    const size = f.shape.reduce((a, b) => a * b, 1);
    if (f.names.length !== size)
      warnings.push(
        `${infoPath}: features.${key}: shape [${f.shape.join(', ')}] holds ${size} values, but names lists ${f.names.length}`,
      );
  }
  const { episodes, tasks, stats } =
    major === '2' ? await readV2Meta(folder, warnings) : await readV3Meta(folder, warnings);
  let data: DataFigures = { frames: 0, lengths: new Map(), unindexed: 0 };
  if (dataFiles.length > 0) {
    data = await checkData(folder, dataFiles, features, warnings);
  } else {
    warnings.push('no data parquet files under data/');
  }
  const { frames } = data;
  const differ = lengthMismatches(episodes, data.lengths);
  if (differ.count > 0)
    warnings.push(
      `${differ.count} episode${differ.count === 1 ? '' : 's'} of the data ${differ.count === 1 ? 'holds' : 'hold'} other than the episode metadata says: ${differ.first.join('; ')}${differ.count > 3 ? '; ...' : ''}`,
    );
  if (info.total_frames !== undefined && info.total_frames !== frames)
    warnings.push(`info.json says ${info.total_frames} frames, the data files hold ${frames}`);
  if (info.total_episodes !== undefined && info.total_episodes !== episodes.length)
    warnings.push(`info.json says ${info.total_episodes} episodes, the episode metadata lists ${episodes.length}`);
  let lengthSum = 0;
  for (const e of episodes) lengthSum += e.length;
  if (episodes.length > 0 && lengthSum !== frames)
    warnings.push(`episode lengths sum to ${lengthSum}, the data files hold ${frames} frames`);
  if (major === '2' && info.data_path) {
    // v2.x keeps one data file per episode: name the first ones missing, not only the count that is off.
    let missing = 0;
    const named: string[] = [];
    for (const e of episodes) {
      const path = episodeDataPath(info.data_path, e.episode_index, info.chunks_size ?? 1000);
      if (existsSync(folder.named(path, 'data_path', `episode ${e.episode_index}`))) continue;
      if (missing++ < 5) named.push(path);
    }
    if (missing > 0)
      warnings.push(
        `${missing} episode${missing > 1 ? 's' : ''} listed in meta/episodes.jsonl ${missing > 1 ? 'have' : 'has'} no data file: ${named.join(', ')}${missing > 5 ? ', ...' : ''}`,
      );
  }
  warnAbsentVideos(folder, info, features, episodes, warnings);
  const videos = await videoSummary(root, warnings);
  for (const [key, st] of Object.entries(stats)) {
    for (const [stat, v] of Object.entries(st)) {
      // +-Infinity is a statistic as it is (a LaserScan's max where nothing was in range, REP 117); NaN normalizes
      // nothing, so it is said.
      const bad = (v as number[]).findIndex((x) => Number.isNaN(x));
      if (bad >= 0) warnings.push(`stats of ${key}: ${stat} element ${bad} is NaN`);
    }
  }
  const summary: LeRobotDatasetSummary = {
    root,
    version,
    robotType: info.robot_type,
    fps: info.fps ?? 0,
    totalEpisodes: info.total_episodes ?? episodes.length,
    totalFrames: info.total_frames ?? frames,
    features,
    episodes,
    tasks,
    stats,
    frames,
    dataFiles: dataFiles.length,
    videoFiles: videoFiles.length,
    videos,
    warnings,
  };
  return { summary, data };
}

/**
 * The video features with where their episodes are; metadata that does not say is a warning, a path that is not safe to
 * open refuses the dataset.
 */
async function videoSummary(root: string, warnings: string[]): Promise<LeRobotDatasetSummary['videos']> {
  let videos;
  try {
    videos = await datasetVideos(root);
  } catch (error) {
    if (!(error instanceof DatasetError) || error instanceof UnsafeDatasetError) throw error;
    warnings.push(`video features: ${error.message}`);
    return [];
  }
  return videos.features.map(({ key, width, height, codec, pixFmt }) => {
    const episodes = videos.episodes.get(key)!;
    return {
      key,
      width,
      height,
      codec,
      pixFmt,
      episodes: episodes.length,
      files: new Set(episodes.map((e) => e.path)).size,
    };
  });
}

/** `meta/<name>` when it is there (and safe to open), else undefined. */
const metaFile = (folder: DatasetFolder, name: string): string | undefined => {
  const path = join(folder.root, 'meta', name);
  return existsSync(path) ? folder.file(path) : undefined;
};

async function readV2Meta(
  folder: DatasetFolder,
  warnings: string[],
): Promise<{ episodes: LeRobotEpisode[]; tasks: LeRobotTask[]; stats: Record<string, FeatureStats> }> {
  const episodes: LeRobotEpisode[] = [];
  const episodesPath = metaFile(folder, 'episodes.jsonl');
  if (episodesPath)
    await forEachJsonLine(folder, episodesPath, (v, line) => {
      checkEpisodeCount(episodes.length + 1, episodesPath);
      episodes.push(parseEpisode(v, `${episodesPath} line ${line}`));
    });
  const tasks: LeRobotTask[] = [];
  const tasksPath = metaFile(folder, 'tasks.jsonl');
  if (tasksPath) {
    await forEachJsonLine(folder, tasksPath, (v, line) => {
      const t = v as Partial<LeRobotTask> | null;
      if (typeof t !== 'object' || t === null || !Number.isInteger(t.task_index) || typeof t.task !== 'string') {
        throw new DatasetError(
          `${tasksPath} line ${line}: expected {"task_index": a whole number, "task": a string}, got ${JSON.stringify(v)?.slice(0, 60)}`,
        );
      }
      tasks.push({ task_index: t.task_index!, task: t.task });
    });
  }
  let stats: Record<string, FeatureStats> = {};
  const statsPath = metaFile(folder, 'stats.json');
  const episodesStatsPath = metaFile(folder, 'episodes_stats.jsonl');
  if (statsPath) {
    stats = parseStats(readJson(folder, statsPath), statsPath, warnings);
  } else if (episodesStatsPath) {
    // v2.1 keeps statistics per episode; the dataset's are their aggregate.
    const aggregators = new Map<string, StatsAggregator>();
    await forEachJsonLine(folder, episodesStatsPath, (v, line) => {
      const where = `${episodesStatsPath} line ${line}`;
      const stats = (v as { stats?: unknown } | null)?.stats;
      if (typeof v !== 'object' || v === null || stats === undefined)
        throw new DatasetError(`${where}: expected an object with stats, got ${JSON.stringify(v)?.slice(0, 60)}`);
      for (const [key, s] of Object.entries(parseStats(stats, where, warnings))) {
        if (!aggregators.has(key)) aggregators.set(key, new StatsAggregator());
        const skipped = aggregators.get(key)!.add(s);
        if (skipped) warnings.push(`${where}: ${key}: ${skipped}; left out of the aggregate`);
      }
    });
    for (const [key, a] of aggregators) stats[key] = a.result();
  }
  return { episodes, tasks, stats };
}

async function readV3Meta(
  folder: DatasetFolder,
  warnings: string[],
): Promise<{ episodes: LeRobotEpisode[]; tasks: LeRobotTask[]; stats: Record<string, FeatureStats> }> {
  const tasksPath = metaFile(folder, 'tasks.parquet');
  const tasks = tasksPath ? await withParquet(folder, [tasksPath], readV3Tasks) : [];
  const episodeFiles = folder.list(join('meta', 'episodes'), '.parquet');
  const episodes =
    episodeFiles.length > 0 ? await withParquet(folder, episodeFiles, (p) => readV3Episodes(p, warnings)) : [];
  const statsPath = metaFile(folder, 'stats.json');
  const stats = statsPath ? parseStats(readJson(folder, statsPath), statsPath, warnings) : {};
  return { episodes, tasks, stats };
}

/** meta/tasks.parquet's tasks, in task_index order; counted before they are read. */
async function readV3Tasks(parquet: ParquetFiles): Promise<LeRobotTask[]> {
  const { from } = parquet;
  const path = parquet.files[0]!;
  const columns = (await parquet.rows(`DESCRIBE SELECT * FROM ${from}`)).map((r) => String(r.column_name));
  const count = Number((await parquet.rows(`SELECT count(*) AS n FROM ${from}`))[0]!.n);
  if (count === 0) return [];
  if (!columns.includes('task_index'))
    throw new DatasetError(`${path} has no column task_index (columns: ${columns.join(', ')})`);
  if (count > MAX_EPISODES)
    throw new DatasetError(
      `${path} lists ${count} tasks, more than a dataset may have episodes (${MAX_EPISODES}): refused before they are read`,
    );
  // pandas writes the task string as the frame's index: a column `task`, or `__index_level_0__` when unnamed.
  const text = ['task', '__index_level_0__'].find((c) => columns.includes(c));
  const rows = await parquet.rows(
    `SELECT task_index${text ? `, ${sqlIdent(text)} AS task` : ''} FROM ${from} ORDER BY task_index`,
  );
  return rows.map((r) => ({ task_index: Number(r.task_index), task: String(r.task ?? '') }));
}

/** meta/episodes' episodes, in episode_index order; counted before they are read. */
async function readV3Episodes(parquet: ParquetFiles, warnings: string[]): Promise<LeRobotEpisode[]> {
  const { from } = parquet;
  const where = filesNamed(parquet.files);
  const columns = (await parquet.rows(`DESCRIBE SELECT * FROM ${from}`)).map((r) => String(r.column_name));
  for (const c of ['episode_index', 'length']) {
    if (!columns.includes(c)) throw new DatasetError(`${where} has no column ${c} (columns: ${columns.join(', ')})`);
  }
  if (!columns.includes('tasks'))
    warnings.push(`${where} has no column tasks; episodes are listed without their tasks`);
  checkEpisodeCount(Number((await parquet.rows(`SELECT count(*) AS n FROM ${from}`))[0]!.n), where);
  const rows = await parquet.rows(
    `SELECT episode_index, length${columns.includes('tasks') ? ', tasks' : ''} FROM ${from} ORDER BY episode_index`,
  );
  return rows.map((r, i) => parseEpisode(r, `${where} row ${i}`));
}
