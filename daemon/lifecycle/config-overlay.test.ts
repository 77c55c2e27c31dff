import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/cli.ts';
import { cleanupStack } from '../../test/helpers/cleanups.ts';
import { mergeOverlay } from '../config/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import { ConfigOverlayStore, overlayHash, protectedChanges } from './config-overlay.ts';

const cleanups = cleanupStack();

const config = (value: Record<string, unknown>) => value as unknown as EdgeConfig;

describe('config from central laid over the local config', () => {
  it('merges mappings key by key, replaces lists and values, and takes a key out with null', () => {
    const base = { recorder: { enabled: false, topics: ['/a', '/b'] }, log: { level: 'info' }, sim: { enabled: true } };
    expect(mergeOverlay(base, { recorder: { topics: ['/c'] }, log: null, sim: { speed: 2 } })).toEqual({
      recorder: { enabled: false, topics: ['/c'] },
      sim: { enabled: true, speed: 2 },
    });
  });

  it('names each changed key under a protected pattern, * standing for any one key', () => {
    const local = config({
      central: { url: 'mqtt://a' },
      control: { loops: { drive: { safe_action: [0, 0], rate_hz: 50 }, arm: { safe_action: [0] } } },
    });
    const merged = config({
      central: { url: 'mqtt://a' },
      control: { loops: { drive: { safe_action: [0.5, 0], rate_hz: 100 }, arm: { safe_action: [0] } } },
    });
    expect(protectedChanges(local, merged, ['control.loops.*.safe_action']).map((i) => i.path)).toEqual([
      'control.loops.drive.safe_action',
    ]);
    // A loop central adds with a safe action is a change under the pattern too.
    const added = config({
      central: { url: 'mqtt://a' },
      control: { loops: { ...(local.control.loops as object), grip: { safe_action: [1] } } },
    });
    expect(protectedChanges(local, added, ['control.loops.*.safe_action']).map((i) => i.path)).toEqual([
      'control.loops.grip.safe_action',
    ]);
  });

  it('hashes equal configs equally whatever their key order', () => {
    expect(overlayHash({ a: 1, b: { c: [1, 2], d: 'x' } })).toBe(overlayHash({ b: { d: 'x', c: [1, 2] }, a: 1 }));
    expect(overlayHash({ a: [1, 2] })).not.toBe(overlayHash({ a: [2, 1] }));
  });

  it('says what is wrong with a damaged state file, and keeps no config from it', async () => {
    const dir = tempDir('config-overlay-');
    cleanups.push(dir.cleanup);
    const store = new ConfigOverlayStore(dir.path);
    expect(store.load()).toBeUndefined(); // none yet
    await store.save({ config_id: 'c1', hash: 'h1', config: { log: { level: 'debug' } }, received_at: 'now' });
    const again = new ConfigOverlayStore(dir.path);
    expect(again.load()).toBeUndefined();
    expect(again.current?.config_id).toBe('c1');
    expect(again.duplicateOf('c1', 'other')).toBe('c1');
    expect(again.duplicateOf('c2', 'h1')).toBe('c1');
    expect(again.duplicateOf('c2', 'h2')).toBeUndefined();

    mkdirSync(dirname(store.path), { recursive: true });
    writeFileSync(store.path, '{"schema": "auraison.central-config/1", "overl');
    const damaged = new ConfigOverlayStore(dir.path);
    expect(damaged.load()).toMatch(/central-config\.json is not JSON/);
    expect(damaged.current).toBeUndefined();
  });
});
