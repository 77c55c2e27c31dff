// `auraison-edge bag split` against a whole daemon (sim, recorder, lakehouse, API on a free port): the CLI
// finds the API through <data_dir>/run/api.json, and the split it closes is in `auraison-edge query` at once,
// though split_max_duration_s (600 s) is far off.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../daemon/config/load.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { TurtlebotMazeSim } from '../../sim/turtlebot-maze/index.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { running } from '../helpers/daemon.ts';

const work = tempDir('recorder-split-daemon-');
afterAll(() => work.cleanup());

describe('bag split on a running daemon', () => {
  it(
    'closes the split being recorded, waits for its indexing, and its messages are queryable',
    { timeout: 60_000 },
    async () => {
      const yaml = [
        `data_dir: ${join(work.path, 'data')}`,
        'sim: {enabled: true, speed: 10, paused: true}',
        'recorder: {enabled: true, include: ["/odom", "/scan"]}',
        'api: {port: 0}',
        'foxglove: {enabled: false}',
      ].join('\n');
      const configFile = join(work.path, 'edge.yaml');
      writeFileSync(configFile, yaml);
      const daemon = new Daemon({
        config: parseConfigText(yaml, configFile),
        log: pino({ level: 'silent' }),
        cwd: work.path,
      });
      await daemon.start();
      try {
        const sim = running(daemon, TurtlebotMazeSim)!;
        sim.unpause();
        await sim.until(2);
        const query = async () => {
          const q = await runMain(
            [
              'query',
              'SELECT topic, count(*) AS n FROM messages GROUP BY topic ORDER BY topic',
              '--json',
              '--config',
              configFile,
            ],
            { cwd: work.path },
          );
          expect(q.code).toBe(0);
          return (JSON.parse(q.stdout) as { rows: [string, number][] }).rows;
        };
        expect(await query()).toEqual([]); // all of it is still in the open split

        const split = await runMain(['bag', 'split', '--json', '--config', configFile], { cwd: work.path });
        expect(split.stderr).toBe('');
        expect(split.code).toBe(0);
        const reply = JSON.parse(split.stdout) as {
          split: { file: string; messages: number };
          indexing: { state: string };
        };
        expect(reply.indexing).toEqual({ state: 'indexed' });
        expect(reply.split.file).toMatch(/data\/bags\/[^/]+\/[^/]+_0\.mcap$/);
        const rows = await query();
        expect(rows.map(([topic]) => topic)).toEqual(['/odom', '/scan']);
        expect(rows.reduce((n, [, count]) => n + Number(count), 0)).toBe(reply.split.messages);
        // 2 s of sim time at 30 Hz odometry and 5 Hz scans, at least.
        expect(Number(rows[0]![1])).toBeGreaterThanOrEqual(60);
        expect(Number(rows[1]![1])).toBeGreaterThanOrEqual(10);
      } finally {
        await daemon.close();
      }
    },
  );
});
