import { spawnSync } from 'node:child_process';
import { peerMissing } from '../peers/missing.ts';

/** Whether ffmpeg (Debian's package, which `lerobot export` and the video readers run) is on the PATH. */
const FFMPEG = spawnSync('ffmpeg', ['-version'], { stdio: 'ignore' }).status === 0;

/** Skips the test (or the suite, from a hook) where ffmpeg is not installed; fails it where peers are required. */
export function needFfmpeg(): void {
  if (!FFMPEG) peerMissing('ffmpeg is not installed: run `sudo apt-get install ffmpeg` (.ci/run does)');
}
