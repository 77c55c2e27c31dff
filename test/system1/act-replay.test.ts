// `policy replay` of a LeRobot dataset with a camera (video) through ACT, against LeRobot 0.6.1 itself: a dataset
// LeRobot writes (its AV1 video), an ACT sized by it (export --dataset), and for every frame the chunk our replay
// computes (ffmpeg decoding the video) equals the chunk LeRobot computes on the frame its own loader decodes, within
// 1e-4, with a configured manifest and with a bare model and --normalize.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';
import { type ActExport, exportActFromDataset, predictActDataset, writeActDataset } from './act-peer.ts';
import { needFfmpeg } from '../helpers/ffmpeg.ts';

const work = tempDir('system1-act-replay-');
afterAll(() => work.cleanup());

const dataset = join(work.path, 'dataset');
const dir = join(work.path, 'act');
let act: ActExport;

beforeAll(async () => {
  needFfmpeg();
  await writeActDataset(dataset, { stateDim: 2, actionDim: 2, cameras: [{ name: 'front', height: 48, width: 64 }] });
  act = await exportActFromDataset(dir, dataset, 8);
}, 300_000);

const MAPPING = [
  '--input',
  'observation.state=observation.state',
  '--input',
  'observation.images.front=observation.images.front',
];

function outputs(file: string): { episode: number; frame: number; shape: number[]; data: number[] }[] {
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { episode: number; frame: number; shape: number[]; data: number[] });
}

describe('policy replay of a dataset with video through ACT', () => {
  it(
    "gives LeRobot's chunk for every frame, its frames decoded by ffmpeg against LeRobot's own loader",
    { timeout: 300_000 },
    async () => {
      const stats = (feature: string) => `{stats: ${act.stats}, feature: ${feature}}`;
      const config = join(work.path, 'act.yaml');
      writeFileSync(
        config,
        [
          'policies:',
          '  act:',
          `    model: ${act.model}`,
          '    inputs:',
          `      observation.state: {normalize: ${stats('observation.state')}}`,
          `      observation.images.front: {image: {topic: /camera/image_raw}, normalize: ${stats('observation.images.front')}}`,
          '    outputs:',
          `      action: {unnormalize: ${stats('action')}}`,
          '',
        ].join('\n'),
      );
      const lerobot = await predictActDataset(dir, dataset);
      expect(lerobot).toHaveLength(12);
      for (const [args, file] of [
        [['act', dataset, '--config', config], 'configured.jsonl'],
        // A bare model with the dataset's own statistics: the same stats.json the export took.
        [[act.model, dataset, '--normalize', 'mean_std'], 'bare.jsonl'],
      ] as const) {
        const out = join(work.path, file);
        const replayed = await runCli(['policy', 'replay', ...args, ...MAPPING, '--outputs', out, '--json'], {
          timeoutMs: 240_000,
        });
        expect(replayed.code, replayed.stderr).toBe(0);
        expect(JSON.parse(replayed.stdout)).toMatchObject({ episodes: 2, frames: 12 });
        const ours = outputs(out);
        expect(ours.map((o) => [o.episode, o.frame])).toEqual(lerobot.map((l) => [l.episode, l.frame]));
        let worst = 0;
        ours.forEach((o, i) => {
          expect(o.shape).toEqual([1, 8, 2]);
          lerobot[i]!.chunk.flat().forEach((v, j) => (worst = Math.max(worst, Math.abs(v - o.data[j]!))));
        });
        expect(worst, file).toBeLessThan(1e-4);
      }
    },
  );

  it(
    'says what is wrong when a video feeds an input that is not an image, or an image input is fed numbers',
    { timeout: 120_000 },
    async () => {
      const replay = (state: string, image: string) =>
        runCli(
          [
            'policy',
            'replay',
            act.model,
            dataset,
            '--input',
            `observation.state=${state}`,
            '--input',
            `observation.images.front=${image}`,
          ],
          { timeoutMs: 60_000 },
        );
      const video = await replay('observation.images.front', 'observation.images.front');
      expect(video.code).toBe(1);
      expect(video.stderr).toContain(
        '--input observation.state=observation.images.front: observation.images.front is a video; model input "observation.state" [1,2] is not an image',
      );
      const numbers = await replay('observation.state', 'observation.state');
      expect(numbers.code).toBe(1);
      expect(numbers.stderr).toContain(
        'observation.state has 2 values per frame, but model input "observation.images.front" takes 9216 ([1,3,48,64])',
      );
    },
  );
});
