import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkCentralServeText, loadCentralServeConfig } from '../../central/config.ts';
import { tempDir } from '../helpers/cli.ts';

describe('central.yaml', () => {
  it('names every problem by key path and line: unknown keys with a did-you-mean, unset ${ENV}, cross-checks', () => {
    const { config, issues } = checkCentralServeText(
      [
        'mqtt:',
        '  url: mqtt://127.0.0.1:1883',
        '  flet: lab',
        'lakehouse:',
        '  catalog: postgres:${PG_CONNINFO}',
        '  data_path: s3://fleet/lake/',
        'storage:',
        '  part_size_bytes: 3',
      ].join('\n'),
      {},
    );
    expect(config).toBeUndefined();
    expect(issues).toEqual([
      { path: 'mqtt.flet', message: 'unknown key (did you mean "fleet"?)', line: 3, column: 3 },
      expect.objectContaining({
        path: 'lakehouse.catalog',
        message: expect.stringContaining('PG_CONNINFO is not set'),
        line: 5,
      }),
      expect.objectContaining({ path: 'storage.part_size_bytes', line: 8 }),
    ]);
    const s3 = checkCentralServeText('mqtt:\n  url: mqtt://h\nlakehouse:\n  data_path: s3://fleet/lake/\n', {});
    expect(s3.issues).toEqual([
      expect.objectContaining({
        path: 'storage.access_key_id',
        message: expect.stringContaining('data_path is on S3'),
      }),
    ]);
    expect(checkCentralServeText('lakehouse: {}\n', {}).issues).toEqual([
      expect.objectContaining({ path: 'mqtt.url', message: 'central serve needs a broker: set mqtt.url' }),
    ]);
  });

  it('fills in the defaults and takes secrets from the environment', () => {
    const dir = tempDir('central-yaml-');
    const file = join(dir.path, 'central.yaml');
    writeFileSync(file, 'mqtt:\n  url: mqtt://127.0.0.1:1883\n  password: ${MQTT_PASSWORD}\n');
    const config = loadCentralServeConfig(file, { MQTT_PASSWORD: 's3cret' });
    dir.cleanup();
    expect(config.mqtt).toMatchObject({ password: 's3cret', topic_prefix: 'auraison', fleet: 'default' });
    expect(config.lakehouse.commit_ms).toBe(200);
    expect(() => loadCentralServeConfig(join(dir.path, 'none.yaml'))).toThrow(/no such file/);
  });
});
