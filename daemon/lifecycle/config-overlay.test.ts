import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../test/helpers/paths.ts';
import { cleanupStack } from '../../test/helpers/cleanups.ts';
import { mergeOverlay } from '../config/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import { ConfigOverlayStore, overlayHash, unsettableChanges } from './config-overlay.ts';

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
    const remote = { settableKeys: ['control'], protectedKeys: ['control.loops.*.safe_action'] };
    expect(unsettableChanges(local, merged, remote).map((i) => i.path)).toEqual(['control.loops.drive.safe_action']);
    // A loop central adds with a safe action is a change under the pattern too.
    const added = config({
      central: { url: 'mqtt://a' },
      control: { loops: { ...(local.control.loops as object), grip: { safe_action: [1] } } },
    });
    expect(unsettableChanges(local, added, remote).map((i) => i.path)).toEqual(['control.loops.grip.safe_action']);
  });

  it('refuses each changed key the file does not list as settable, and those central may never change', () => {
    const local = config({
      log: { level: 'info' },
      api: { enabled: true },
      motion: { stop: { latch: true } },
      agent: { enabled: true, rules: { quotas: { max_tool_calls: 32 } } },
    });
    const merged = config({
      log: { level: 'debug' },
      api: { enabled: false },
      motion: { stop: { latch: false } },
      agent: { enabled: false, rules: { quotas: { max_tool_calls: 1000 } } },
    });
    // The file lists the whole agent and motion sections as settable: the stop latch and the agent's rules stay the
    // file's all the same.
    const settableKeys = ['log.level', 'agent', 'motion'];
    const issues = unsettableChanges(local, merged, { settableKeys, protectedKeys: [] });
    expect(issues).toEqual(
      expect.arrayContaining([
        { path: 'api.enabled', message: "central may never change api: only the robot's config file may" },
        { path: 'motion.stop.latch', message: "central may never change motion: only the robot's config file may" },
        {
          path: 'agent.rules.quotas.max_tool_calls',
          message: "central may never change agent.rules: only the robot's config file may",
        },
      ]),
    );
    expect(issues).toHaveLength(3);
    expect(unsettableChanges(local, merged, { settableKeys: ['log.level'], protectedKeys: [] })).toContainEqual({
      path: 'agent.enabled',
      message:
        'not in central.remote_config.settable_keys: add agent.enabled (or a key above it) there to let central change it',
    });
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
