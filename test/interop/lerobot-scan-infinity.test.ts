// A LaserScan exported to LeRobot keeps its +inf ranges (REP 117: nothing in range), as LeRobot and pyarrow keep
// them: read back by pyarrow and by LeRobot's own loader (lerobot's LeRobotDataset), with stats.json written as
// Python's json writes it (the bare token Infinity). A text round trip through JSON.stringify made them NULL, and
// `policy replay` of that export then failed ("observation.scan is NULL in places").
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePythonJson } from '../../daemon/util/python-json.ts';
import { tempDir } from '../helpers/cli.ts';
import { readerPeers } from '../peers/index.ts';
import { lerobotLoad, loaded } from './lerobot-views.ts';
import { exportDrive } from './sim-drive.ts';

const work = tempDir('interop-lerobot-scan-');
afterAll(() => work.cleanup());

/** pyarrow's count of +inf, NaN and null values in a list column of the dataset's data file. */
const PYARROW_COUNT = `
import json, math, sys
import pyarrow.parquet as pq
col = pq.read_table(sys.argv[1], columns=[sys.argv[2]]).column(0).combine_chunks()
vals = col.flatten().to_pylist()
print(json.dumps({'rows': len(col), 'null_rows': col.null_count, 'values': len(vals),
  'inf': sum(1 for v in vals if v is not None and math.isinf(v) and v > 0),
  'nan': sum(1 for v in vals if v is not None and math.isnan(v)),
  'null': sum(1 for v in vals if v is None)}))
`;

describe('a LaserScan exported to LeRobot', () => {
  const out = join(work.path, 'export');
  beforeAll(async () => {
    const exported = await exportDrive(work.path, 'none', out, ['--feature', 'observation.scan=/scan:ranges']);
    expect(exported.code, exported.stderr).toBe(0);
  }, 300_000);

  it('keeps +inf in the frames, as pyarrow reads them', async () => {
    const { stdout } = await promisify(execFile)(readerPeers().python, [
      '-c',
      PYARROW_COUNT,
      join(out, 'data', 'chunk-000', 'file-000.parquet'),
      'observation.scan',
    ]);
    const counts = JSON.parse(stdout) as Record<string, number>;
    expect(counts.rows).toBeGreaterThan(4);
    expect({ null_rows: counts.null_rows, null: counts.null, nan: counts.nan }).toEqual({
      null_rows: 0,
      null: 0,
      nan: 0,
    });
    expect(counts.inf).toBeGreaterThan(0); // the sim's maze leaves beams with nothing in range
  });

  it("keeps +inf in stats.json, written as Python's json writes it", () => {
    const statsText = readFileSync(join(out, 'meta', 'stats.json'), 'utf8');
    expect(statsText).toMatch(/\bInfinity\b/);
    const stats = parsePythonJson(statsText) as Record<string, { max: number[] }>;
    expect(stats['observation.scan']!.max).toContain(Infinity);
  });

  it("keeps +inf as LeRobot's own loader reads it", { timeout: 300_000 }, async () => {
    const lerobot = loaded((await lerobotLoad([out]))[0]);
    const scan = lerobot.features['observation.scan'] as { dtype: string; shape: number[] };
    expect(scan.dtype).toBe('float32');
    const frames = [lerobot.first, lerobot.last].map((f) => f['observation.scan'] as (number | string | null)[]);
    for (const frame of frames) {
      expect(frame).toHaveLength(scan.shape[0]!);
      expect(frame.filter((v) => v === null || v === 'nan' || Number.isNaN(v))).toEqual([]);
    }
    // plain.py writes +inf as 'inf'; any other path of LeRobot's gives the number.
    expect(frames.flat().some((v) => v === 'inf' || v === Infinity)).toBe(true);
  });
});
