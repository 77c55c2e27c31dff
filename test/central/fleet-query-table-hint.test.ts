import { DuckDBInstance } from '@duckdb/node-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FleetQueryRunner } from '../../central/fleet-query.ts';
import { errorText } from '../../daemon/util/index.ts';

// An operator who queries a robot's topic by its name (`odom`) is pointed at its table (topic_odom), not at
// whatever DuckDB's spelling suggestion finds (it said "Did you mean topic_map?").
let instance: DuckDBInstance;
let runner: FleetQueryRunner;

beforeAll(async () => {
  instance = await DuckDBInstance.create(':memory:');
  const setup = await instance.connect();
  // The lake attached beside the default database, as central's DuckLake is.
  await setup.run("ATTACH ':memory:' AS lake");
  await setup.run('CREATE TABLE lake.topic_map (robot VARCHAR, width INTEGER)');
  await setup.run('CREATE TABLE lake.topic_odom (robot VARCHAR, x DOUBLE)');
  await setup.run("INSERT INTO lake.topic_odom VALUES ('tb1', 1.5)");
  setup.closeSync();
  runner = new FleetQueryRunner({
    connect: async () => {
      const connection = await instance.connect();
      await connection.run('USE lake');
      return { connection, release: () => connection.closeSync() };
    },
    limits: { timeoutMs: 10_000, maxRows: 100, maxBytes: 1_000_000, concurrent: 2 },
  });
});
afterAll(() => instance?.closeSync());

describe('a fleet query of a table the lake lacks', () => {
  it("points a topic's bare name at its topic_ table, not at DuckDB's nearest spelling", async () => {
    const error = await runner.run('SELECT count(*) FROM odom').catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect(errorText(error)).toContain("a robot's topic is the table topic_odom here (did you mean topic_odom?)");
    expect(errorText(error)).not.toContain('topic_map');
    // ...and the table it names answers.
    expect((await runner.run('SELECT x FROM topic_odom')).rows).toEqual([[1.5]]);
  });

  it('says the lake has no such topic table, and how to list them, when it has none', async () => {
    const error = await runner.run('SELECT * FROM "/scan"').catch((e: Error) => e);
    expect(errorText(error)).toContain('the lake has no topic_scan; SHOW TABLES lists its tables');
  });

  it("leaves DuckDB's message alone for a topic_ table that is missing, and takes a hostile name as text", async () => {
    const missing = await runner.run('SELECT * FROM topic_nope').catch((e: Error) => e);
    expect(errorText(missing)).toMatch(/topic_nope/);
    expect(errorText(missing)).not.toContain("a robot's topic");
    const hostile = await runner.run(`SELECT * FROM "odom'); DROP TABLE topic_odom; --"`).catch((e: Error) => e);
    expect(hostile).toBeInstanceOf(Error);
    expect((await runner.run('SELECT count(*) FROM topic_odom')).rows).toEqual([['1']]);
  });
});
