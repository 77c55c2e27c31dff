// FfmpegProcess's time limit: a run that does not answer within it is killed, and its error says so.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../test/helpers/paths.ts';
import { FfmpegError, FfmpegProcess } from './ffmpeg.ts';

const work = tempDir('ffmpeg-process-');
afterAll(() => work.cleanup());

describe('FfmpegProcess', () => {
  it('kills a run that does not answer within its time limit, and says so', async () => {
    // An ffprobe that never answers, as one blocked opening a named pipe.
    writeFileSync(join(work.path, 'ffprobe'), '#!/bin/sh\nexec sleep 600\n');
    chmodSync(join(work.path, 'ffprobe'), 0o755);
    const probe = new FfmpegProcess('ffprobe', [], {
      what: 'reading a video',
      env: { PATH: `${work.path}:/usr/bin:/bin` },
      timeoutMs: 100,
    });
    const answer = probe.text();
    await expect(answer).rejects.toThrow(FfmpegError);
    await expect(answer).rejects.toThrow(
      /^reading a video: ffprobe did not finish within its time limit \(0\.1 s for this work\) and was stopped$/,
    );
    expect(await probe.exited()).toEqual({ code: null, signal: 'SIGKILL' });
  });
});
