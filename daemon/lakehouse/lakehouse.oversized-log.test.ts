// A camera topic over lakehouse.project_max_message_bytes is said once per topic while the daemon runs,
// not with every split the recorder closes (one a minute for months).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { Value } from 'typebox/value';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES } from '../../test/helpers/paths.ts';
import { DefinitionsRegistry } from '../bus/definitions.ts';
import { LakehouseConfig, RetentionConfig } from '../config/sections/bags.ts';
import { Lakehouse, type LakehouseOptions } from './lakehouse.ts';

const WBAG = join(FIXTURES, 'bags/rosbag2/rosbag2_py/test/resources/mcap/wbag');
const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('Lakehouse: messages over project_max_message_bytes in recorded splits', () => {
  it('logs it once per topic, however many splits carry that topic', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'lh-oversized-'));
    dirs.push(dataDir);
    const lines: { msg: string; topic?: string }[] = [];
    const sink = new Writable({ write: (chunk, _enc, done) => (lines.push(JSON.parse(String(chunk))), done()) });
    const lh = new Lakehouse({
      dataDir,
      robot: 'r1',
      definitions: new DefinitionsRegistry(),
      log: pino({ level: 'info' }, sink),
      journal: undefined,
      settings: {
        ...(Value.Default(LakehouseConfig, {}) as LakehouseOptions['settings']),
        project_max_message_bytes: 1,
      },
      retention: { ...(Value.Default(RetentionConfig, {}) as LakehouseOptions['retention']), enabled: false },
      syncRequired: false,
    });
    await lh.start();
    // wbag's five splits each carry its topics (std_msgs/String, every message over 1 byte).
    const splits = [0, 1, 2, 3, 4].map((i) => join(WBAG, `wbag_${i}.mcap`));
    for (const file of splits) lh.indexRecordedSplit(file, WBAG);
    for (const file of splits) expect(await lh.splitIndexing(file)).toEqual({ state: 'indexed' });
    await lh.close();
    const said = lines.filter((l) => l.msg.includes('project_max_message_bytes'));
    const topics = said.map((l) => l.topic);
    expect(topics.length).toBeGreaterThan(1);
    expect(new Set(topics).size).toBe(topics.length);
    expect(said[0]!.msg).toMatch(/\(said once per topic\)$/);
  });
});
