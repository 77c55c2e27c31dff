import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError } from '../../daemon/config/index.ts';
import { parseConfigText } from '../../daemon/config/load.ts';

function problems(config: Record<string, unknown>): string[] {
  try {
    parseConfigText(stringify(config), 'edge.yaml', {});
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n');
    throw error;
  }
  return [];
}

describe('the sync config', () => {
  it('refuses sync without the central link, no kinds, and an empty upload window, naming each key path', () => {
    const text = problems({
      central: {
        enabled: false,
        upload_windows: [{ start: '22:00', end: '22:00' }],
        sync: { enabled: true, kinds: [] },
      },
    }).join('\n');
    expect(text).toMatch(/central\.sync\.enabled.*set central\.enabled: true/);
    expect(text).toMatch(/central\.sync\.kinds.*nothing would be offered/);
    expect(text).toMatch(/central\.upload_windows\.0.*a window of no time/);
  });

  it('takes a full sync section', () => {
    expect(
      problems({
        central: {
          enabled: true,
          url: 'mqtt://127.0.0.1:1883',
          max_upload_bytes_per_s: 1_000_000,
          upload_windows: [{ start: '22:00', end: '06:00', bytes_per_s: 0 }],
          sync: { enabled: true, kinds: ['bag'], bags: { tags: ['snapshot'] }, part_size_mb: 16 },
        },
      }),
    ).toEqual([]);
  });
});
