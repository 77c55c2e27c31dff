import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../daemon/cli/main.ts';
import { tempDir, testConfig } from '../helpers/cli.ts';

async function cli(argv: string[], cwd: string): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await main(argv, { stdout: (t) => (stdout += t), stderr: () => {}, env: {}, cwd });
  return { code, stdout };
}

describe('the main job records the drive and indexes it', () => {
  it('ends its summary with the bag it wrote and a query that counts what the drive published', async () => {
    const dir = tempDir('main-job-records-');
    try {
      const config = testConfig(dir.path);
      const drive = await cli(['sim', 'turtlebot-maze', '--speed', '1000', '--record', '--config', config], dir.path);
      expect(drive.code).toBe(0);
      const bag = /recorded: (\S+) \(indexed in the lakehouse\)/.exec(drive.stdout)?.[1];
      expect(bag, drive.stdout).toBeDefined();
      expect(readdirSync(join(dir.path, bag!)).some((f) => f.endsWith('.mcap'))).toBe(true);
      const query = /try: +auraison-edge query '(.+)'/.exec(drive.stdout)?.[1];
      expect(query, drive.stdout).toBeDefined();
      expect(drive.stdout).toContain(`auraison-edge bag info ${bag}`);

      const published = Number(/\/odom (\d+)/.exec(drive.stdout)?.[1]);
      const result = await cli(['query', query!, '--json', '--config', config], dir.path);
      expect(result.code).toBe(0);
      const { rows } = JSON.parse(result.stdout) as { rows: unknown[][] };
      expect(Number(rows[0]![0])).toBe(published);
    } finally {
      dir.cleanup();
    }
  });

  it('records nothing with --no-record, and lists the bags it wrote with --json', async () => {
    const dir = tempDir('main-job-records-');
    try {
      const config = testConfig(dir.path);
      const off = await cli(
        ['sim', 'turtlebot-maze', '--speed', '1000', '--no-record', '--json', '--config', config],
        dir.path,
      );
      expect(JSON.parse(off.stdout)).toMatchObject({ reached: true, bags: [] });
      const on = await cli(
        ['sim', 'turtlebot-maze', '--speed', '1000', '--record', '--json', '--config', config],
        dir.path,
      );
      expect((JSON.parse(on.stdout) as { bags: string[] }).bags).toHaveLength(1);
      expect(await cli(['sim', 'turtlebot-maze', '--record', '--no-record'], dir.path)).toMatchObject({ code: 2 });
    } finally {
      dir.cleanup();
    }
  });
});
