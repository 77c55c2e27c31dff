import { describe, expect, it } from 'vitest';
import { cutEpisodes } from './episode-marks.ts';

const marks = (...texts: [number, string][]) => texts.map(([t, text]) => ({ t: BigInt(t), text }));

describe('cutEpisodes', () => {
  it('keeps the episodes whose end mark says success, and counts what it leaves out', () => {
    const cut = cutEpisodes(
      marks(
        [5, 'end 0 success'], // the recording began mid-episode: no begin, not an episode
        [10, 'begin 1'],
        [20, 'end 1 success'],
        [30, 'begin 2'],
        [40, 'end 2 failure'],
        [50, 'begin 3'],
        [60, 'begin 4'], // 3 never ended
        [70, 'end 4'], // no verdict
        [80, 'begin 5'],
        [90, 'END 5 Success'],
        [100, 'begin 6'], // the recording stopped
      ),
      'pick',
    );
    expect(cut.windows).toEqual([
      { startNs: 10n, endNs: 20n, task: 'pick' },
      { startNs: 80n, endNs: 90n, task: 'pick' },
    ]);
    expect(cut).toMatchObject({ failed: 1, unended: 2, unjudged: 1 });
  });
});
