// The reverse direction: bags that rosbags writes (its MCAP and sqlite3 storage, metadata versions 8 and 9, its
// own QoS serialization) import into our lakehouse with every message, the right types and the values written.
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir, testConfig } from '../helpers/cli.ts';
import { runPythonPeer } from '../peers/index.ts';

const work = tempDir('interop-rosbags-import-');
afterAll(() => work.cleanup());

interface Written {
  topic: string;
  type: string;
  log_time: string;
  value: Record<string, unknown>;
}

/** A message's fields by column name, as the lakehouse flattens them: a ROS time stays one JSON text column. */
function columns(
  value: Record<string, unknown>,
  prefix = '',
  out: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const [key, v] of Object.entries(value)) {
    const isTime = v !== null && typeof v === 'object' && !Array.isArray(v) && Object.keys(v).join() === 'sec,nanosec';
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !isTime)
      columns(v as Record<string, unknown>, `${prefix}${key}.`, out);
    else out[`${prefix}${key}`] = isTime ? JSON.stringify(v) : v;
  }
  return out;
}

/** What `query --json` prints for a written value in a column of `type` (floats are float32, bytes a BLOB). */
function asQueried(v: unknown, type: string): unknown {
  const float32 = (x: unknown) =>
    typeof x === 'number' ? Math.fround(x) : x === 'inf' ? 'Infinity' : x === '-inf' ? '-Infinity' : x;
  if (type === 'FLOAT') return float32(v);
  if (type === 'FLOAT[]') return (v as unknown[]).map(float32);
  if (type === 'BLOB')
    return (v as number[]).map((b) => `\\x${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
  return v;
}

async function query(config: string, sql: string) {
  const out = await runMain(['query', sql, '--json', '--config', config], { cwd: work.path });
  expect(out.code, out.stderr).toBe(0);
  return JSON.parse(out.stdout) as { columns: { name: string; type: string }[]; rows: unknown[][] };
}

describe('bags written by rosbags, imported into the lakehouse', () => {
  for (const [storage, version] of [
    ['mcap', '9'],
    ['sqlite3', '8'],
    ['mcap', '8'],
    ['sqlite3', '9'],
  ] as const) {
    it(
      `imports a rosbags ${storage} bag (metadata version ${version}) with every message, its type and its values`,
      { timeout: 120_000 },
      async () => {
        const name = `rosbags_${storage}_v${version}`;
        const bag = join(work.path, name);
        const { messages } = await runPythonPeer<{ messages: Written[] }>('rosbags_write.py', [bag, storage, version]);
        const config = testConfig(work.path, `data_dir: ${join(work.path, 'data')}\n`);
        const imported = await runMain(['bag', 'import', bag, '--json', '--config', config], { cwd: work.path });
        expect(imported.code, imported.stderr).toBe(0);
        const [report] = JSON.parse(imported.stdout).imported;
        expect(report).toMatchObject({
          storage,
          messages: messages.length,
          decoded: messages.length,
          raw: 0,
          unknownTypes: [],
          corrupt: [],
          warnings: [],
        });

        const inBag = `segment_id IN (SELECT segment_id FROM bags WHERE bag = '${name}')`;
        const types = await query(
          config,
          `SELECT topic, type, count(*)::INTEGER FROM messages WHERE ${inBag} GROUP BY ALL ORDER BY topic`,
        );
        const expected = new Map<string, [string, string, number]>();
        for (const m of messages) expected.set(m.topic, [m.topic, m.type, (expected.get(m.topic)?.[2] ?? 0) + 1]);
        expect(types.rows).toEqual([...expected.values()].sort((a, b) => a[0].localeCompare(b[0])));

        for (const topic of expected.keys()) {
          const table = await query(
            config,
            `SELECT * EXCLUDE (segment_id, date, robot) FROM "${topic}" WHERE ${inBag} ORDER BY log_time`,
          );
          const written = messages.filter((m) => m.topic === topic);
          expect(table.rows.length, topic).toBe(written.length);
          for (const [i, m] of written.entries()) {
            const row = Object.fromEntries(table.columns.map((c, k) => [c.name, table.rows[i]![k]]));
            const want = Object.fromEntries(
              Object.entries(columns(m.value)).map(([k, v]) => [
                k,
                asQueried(v, table.columns.find((c) => c.name === k)?.type ?? ''),
              ]),
            );
            expect(row, `${topic} #${i}`).toEqual({ log_time: m.log_time, publish_time: row.publish_time, ...want });
          }
        }
      },
    );
  }
});
