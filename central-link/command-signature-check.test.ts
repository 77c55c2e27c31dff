import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CommandSignatureCheck } from './command-signature-check.ts';
import { CommandCounterStore } from './command-signature-counter.ts';
import { signCommand } from './command-signature.ts';

const { privateKey, publicKey } = generateKeyPairSync('ed25519');
const address = { fleet: 'lab', robot: 'tb3-1', topic: 'intents' as const };
const HOUR_US = 3_600_000_000n;

/** A robot's gate whose clock reads `robotNowMs`, and what it warned of. */
function gate(robotNowMs: () => number) {
  const dir = mkdtempSync(join(tmpdir(), 'signature-check-'));
  dirs.push(dir);
  const warnings: string[] = [];
  const check = new CommandSignatureCheck({
    keys: [publicKey],
    required: true,
    fleet: 'lab',
    robot: 'tb3-1',
    counters: new CommandCounterStore({ path: join(dir, 'counter.json') }),
    warn: (m) => warnings.push(m),
    now: robotNowMs,
  });
  return { check, warnings };
}
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A command central signed at `atUs` on its clock, to expire `lifetimeUs` later (none: never). */
function command(atUs: bigint, lifetimeUs?: bigint) {
  const payload = Buffer.from(JSON.stringify({ at: atUs.toString() }));
  const expires = lifetimeUs === undefined ? undefined : atUs + lifetimeUs;
  return { payload, properties: signCommand(privateKey, address, atUs, payload, expires) };
}

describe("the robot's check of a command's expiry", () => {
  it("refuses a command past its signed expiry by the robot's clock, saying both times and what a wrong clock does", async () => {
    const centralNow = BigInt(Date.now()) * 1000n;
    const { check } = gate(() => Date.now());
    const stale = command(centralNow - HOUR_US, 300_000_000n);
    const verdict = await check.check('intents', stale.payload, stale.properties);
    expect(verdict).toMatchObject({ ok: false, code: 'expired' });
    expect(verdict.ok === false && verdict.message).toMatch(
      /expired 3300\.\d s ago by this robot's clock \(\d{4}-.*Z\): central signed it at .*Z to expire at .*Z \(300\.0 s later\).*set it \(timedatectl set-ntp true\)/,
    );
    const fresh = command(centralNow, 300_000_000n);
    expect(await check.check('intents', fresh.payload, fresh.properties)).toEqual({ ok: true, signed: true });
    expect(check.counts).toMatchObject({ expired: 1, verified: 1 });
  });

  it("with its clock an hour behind central's, says so, and refuses by central's signed time a command that expired before one it took", async () => {
    const robotNow = Date.now();
    const centralNow = BigInt(robotNow) * 1000n + HOUR_US;
    const { check, warnings } = gate(() => robotNow);
    const later = command(centralNow);
    expect(await check.check('intents', later.payload, later.properties)).toEqual({ ok: true, signed: true });
    expect(warnings.join('\n')).toMatch(
      /this robot's clock .* is 3600\.\d s behind central's.*timedatectl set-ntp true/,
    );
    // Signed 10 s before the one taken, for 1 s: expired by central's clock, though not by the robot's.
    const held = command(centralNow - 10_000_000n, 1_000_000n);
    const verdict = await check.check('intents', held.payload, held.properties);
    expect(verdict).toMatchObject({ ok: false, code: 'expired' });
    expect(verdict.ok === false && verdict.message).toMatch(/expired by central's own clock/);
  });

  it('takes a command with no expiry whatever the clocks say, and refuses a malformed expiry', async () => {
    const { check } = gate(() => Date.now() + 86_400_000);
    const timeless = command(BigInt(Date.now()) * 1000n);
    expect(await check.check('intents', timeless.payload, timeless.properties)).toEqual({ ok: true, signed: true });
    const odd = command(BigInt(Date.now()) * 1000n + 1n, 5n);
    const verdict = await check.check('intents', odd.payload, { ...odd.properties, 'auraison-expires': 'soon' });
    expect(verdict).toMatchObject({ ok: false, code: 'bad_signature' });
  });
});
