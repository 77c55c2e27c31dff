// isolated: fakes the wall clock (vitest.config.ts)
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempDir } from '../helpers/cli.ts';
import { writeStatusFile } from '../helpers/status-file.ts';
import { HOUR_MS, YEAR_MS } from './clock-steps-clock.ts';

/**
 * `auraison-edge status` reading the status file when the wall clock stepped since it was written: the
 * file's age is told by the boot's monotonic clock, which both processes share, not by `written_at`.
 */

const dirs: { cleanup: () => void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.cleanup()));

const bootMs = () => Number(process.hrtime.bigint() / 1_000_000n);
const bootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();

/** A status file of a live process (this one), with the clocks' readings given. */
async function statusWith(stamp: { written_at: string; written_mono_ms: number }) {
  const dir = tempDir('clock-steps-status-');
  dirs.push(dir);
  const config = writeStatusFile(dir.path, { ...stamp, boot_id: bootId });
  return runCli(['status', '--config', config], { cwd: dir.path });
}

describe('the status file when the wall clock stepped', () => {
  it('a hung daemon (no write for a minute) is not running, though the clock stepped back an hour since its last write', async () => {
    const r = await statusWith({
      written_at: new Date(Date.now() + HOUR_MS).toISOString(),
      written_mono_ms: bootMs() - 60_000,
    });
    expect(r.stdout).toMatch(/^not running: no update since/);
    expect(r.code).toBe(1);
  });

  it('a daemon that just wrote is running, though the clock stepped forward 3 years since', async () => {
    const r = await statusWith({
      written_at: new Date(Date.now() - 3 * YEAR_MS).toISOString(),
      written_mono_ms: bootMs(),
    });
    expect(r.stdout).not.toMatch(/not running/);
    expect(r.code).toBe(0);
  });
});
