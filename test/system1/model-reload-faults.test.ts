import { truncateSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { tempDir } from '../helpers/cli.ts';
import { startLoopDaemon } from './loop-daemon-harness.ts';
import { writeLinearModel } from './models.ts';
import { cleanupStack } from '../helpers/cleanups.ts';

const cleanups = cleanupStack();
const wait = { timeout: 30_000, interval: 20 };

describe('a model replaced in place, then SIGHUP', () => {
  it('restarts the loop on the new model; a truncated one fails the control component, which says so, and the daemon goes on', async () => {
    const dir = tempDir('model-reload-');
    cleanups.push(dir.cleanup);
    const model = writeLinearModel(dir.path, 'policy', [1, 0, 0, 1], [0, 0]);
    const { daemon, config, sent } = await startLoopDaemon(dir.path, model, cleanups);
    await vi.waitFor(() => expect(sent).toContainEqual([1, 2]), wait);

    // New weights written over the file, as a deployment does; the config is the same.
    writeLinearModel(dir.path, 'policy', [2, 0, 0, 2], [0, 0]);
    expect(await daemon.reload(structuredClone(config))).toContain('control');
    const afterNew = sent.length;
    await vi.waitFor(() => expect(sent.slice(afterNew)).toContainEqual([2, 4]), wait);

    truncateSync(model, 10);
    expect(await daemon.reload(structuredClone(config))).toContain('control');
    const health = daemon.status().components.control!;
    expect(health.state).toBe('failed');
    expect(health.reason).toContain(model);
    // The loop's last word was the safe action.
    expect(sent.at(-1)).toEqual([0, 0]);
  });
});
