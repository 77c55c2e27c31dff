import { printable } from '../../../daemon/util/index.ts';
import type { LeRobotDatasetSummary } from './dataset-types.ts';

const vec = (v: number[] | undefined, n = 4): string =>
  v
    ? `[${v
        .slice(0, n)
        .map((x) => x.toPrecision(3))
        .join(', ')}${v.length > n ? `, ... (${v.length})` : ''}]`
    : '-';

const plural = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

/** The text `lerobot inspect` prints. */
export function formatDatasetSummary(s: LeRobotDatasetSummary, listEpisodes: number): string {
  // A loop, not Math.min(...lengths): spreading 120,000 episodes overflows the call stack.
  let lo = Infinity;
  let hi = -Infinity;
  for (const e of s.episodes) {
    lo = Math.min(lo, e.length);
    hi = Math.max(hi, e.length);
  }
  const lines = [
    `dataset    ${s.root}`,
    `version    ${printable(s.version)}, robot ${printable(s.robotType ?? '-')}, ${s.fps} fps`,
    `episodes   ${s.episodes.length} (info.json: ${s.totalEpisodes})${s.episodes.length ? `, length ${lo}..${hi} frames` : ''}`,
    `frames     ${s.frames} in ${s.dataFiles} data files (info.json: ${s.totalFrames}); ${s.videoFiles} video files`,
    `tasks      ${s.tasks.length}`,
    ...s.tasks.slice(0, 10).map((t) => `  ${String(t.task_index).padStart(4)}  ${printable(t.task)}`),
    '',
    'features:',
  ];
  for (const [key, f] of Object.entries(s.features)) {
    const names = f.names
      ? ` ${printable(f.names.slice(0, 4).join(', '))}${f.names.length > 4 ? `, ... (${f.names.length})` : ''}`
      : '';
    lines.push(`  ${printable(key).padEnd(32)} ${printable(f.dtype).padEnd(8)} [${f.shape.join(', ')}]${names}`);
  }
  if (s.videos.length > 0) lines.push('', 'videos:');
  for (const v of s.videos)
    lines.push(
      `  ${printable(v.key).padEnd(32)} ${v.width}x${v.height} ${printable(v.codec ?? '-')} ${printable(v.pixFmt ?? '-')}, ${plural(v.episodes, 'episode')} in ${plural(v.files, 'file')}`,
    );
  for (const d of s.decoded ?? [])
    lines.push(
      `  ${printable(d.key).padEnd(32)} decoded: ${plural(d.frames, 'frame')} of ${plural(d.episodes, 'episode')}${d.failed.length > 0 ? `; ${d.failed.length} did not decode (see the warnings)` : ''}`,
    );
  lines.push('', 'stats:');
  for (const [key, st] of Object.entries(s.stats)) {
    // An image's statistics are one per channel (LeRobot's [C, 1, 1]), of pixels scaled to 0..1.
    const image = s.features[key]?.dtype === 'video' || s.features[key]?.dtype === 'image';
    lines.push(
      `  ${key.padEnd(32)} mean ${vec(st.mean)} std ${vec(st.std)} min ${vec(st.min)} max ${vec(st.max)}${image ? ' (per channel)' : ''}`,
    );
  }
  lines.push('', `episodes (first ${Math.min(listEpisodes, s.episodes.length)}):`);
  for (const e of s.episodes.slice(0, listEpisodes))
    lines.push(
      `  ${String(e.episode_index).padStart(6)}  ${String(e.length).padStart(6)} frames  ${printable(e.tasks.join('; '))}`,
    );
  if (s.warnings.length > 0) lines.push('', 'warnings:', ...s.warnings.map((w) => `  ${printable(w)}`));
  return `${lines.join('\n')}\n`;
}
