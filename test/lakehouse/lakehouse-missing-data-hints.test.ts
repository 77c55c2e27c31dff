// `query` of a topic never recorded, and `lerobot export` of a window
// with no data, must say what the lakehouse holds and where, not only that something does not exist.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, runMain, tempDir } from '../helpers/cli.ts';

const work = tempDir('lakehouse-hints-');
afterAll(() => work.cleanup());
const cwd = work.path;
const config = join(cwd, 'edge.yaml');
const lakehouse = join(cwd, 'data', 'lakehouse');

beforeAll(() => {
  writeFileSync(config, 'data_dir: ./data\n');
});

describe('auraison-edge query of a topic the lakehouse lacks', () => {
  it('says the lakehouse has no topics yet and how they get there (README: /odom "once recorded or imported")', async () => {
    const r = await runMain(['query', 'SELECT avg("twist.twist.linear.x") FROM "/odom"', '--config', config], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `auraison-edge query: no topic /odom in the lakehouse at ${lakehouse}. It has no topics yet. ` +
        'Topics get there when the daemon records them (recorder.enabled: true; the recorder is off by default; a split is indexed once it closes, at recorder.split_max_bytes or split_max_duration_s) or from `auraison-edge bag import PATH`.\n',
    );
  });

  it("after an import, lists the topics it has, and keeps DuckDB's guess at a typo", async () => {
    const imported = await runMain(
      [
        'bag',
        'import',
        join(FIXTURES, 'bags', 'rosbag2', 'rosbag2_py', 'test', 'resources', 'mcap', 'talker'),
        '--config',
        config,
      ],
      { cwd },
    );
    expect(imported.code).toBe(0);
    const r = await runMain(['query', 'SELECT * FROM "/topc"', '--config', config], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      `no topic /topc in the lakehouse at ${lakehouse}. Did you mean "/topic"? Its topics: /rosout, /topic. Topics get there`,
    );
    // A table that is not a topic keeps DuckDB's own words.
    const other = await runMain(['query', 'SELECT * FROM nothere', '--config', config], { cwd });
    expect(other.stderr).toContain('Table with name nothere does not exist');
  });
});

describe('auraison-edge lerobot export of a window with no data', () => {
  it("says when the topic's data is, in both forms --window takes", async () => {
    const bag = join(FIXTURES, 'bags', 'rosbags-rs', 'test_bag_mcap');
    expect((await runMain(['bag', 'import', bag, '--config', config], { cwd })).code).toBe(0);
    const span = await runMain(
      ['query', 'SELECT min(log_time), max(log_time) FROM "/test/nav_msgs/odometry"', '--config', config, '--json'],
      { cwd },
    );
    const [first, last] = (JSON.parse(span.stdout) as { rows: string[][] }).rows[0]!.map(BigInt);
    const r = await runMain(
      [
        'lerobot',
        'export',
        join(cwd, 'ds'),
        '--feature',
        'observation.state=/test/nav_msgs/odometry:pose.pose.position.x',
        '--window',
        '2020-01-01T00:00:00Z,2020-01-01T00:01:00Z',
        '--config',
        config,
      ],
      { cwd },
    );
    expect(r.code).toBe(1);
    const iso = (ns: bigint) => new Date(Number(ns / 1_000_000n)).toISOString();
    expect(r.stderr).toBe(
      'auraison-edge lerobot export: feature observation.state: /test/nav_msgs/odometry has no rows between 2020-01-01T00:00:00.000Z (1577836800000000000 ns) ' +
        `and 2020-01-01T00:01:00.000Z (1577836860000000000 ns); its rows run from ${iso(first!)} (${first} ns) to ${iso(last!)} (${last} ns): give a window inside that\n`,
    );
  });

  it('names a dozen of a hundred topics when the one asked for is missing, and how to list them all', async () => {
    const r = await runMain(
      [
        'lerobot',
        'export',
        join(cwd, 'ds2'),
        '--feature',
        'action=/cmd_vel:linear.x',
        '--window',
        '2020-01-01T00:00:00Z,2020-01-01T00:01:00Z',
        '--config',
        config,
      ],
      { cwd },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /\(its topics: \/rosout, \/test\/geometry_msgs\/accel, (?:[^,]+, ){9}[^,]+ and \d+ more: auraison-edge query 'SELECT DISTINCT topic FROM messages'\)\n$/,
    );
  });
});
