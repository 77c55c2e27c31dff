// Who a remote policy's link obeys: an openpi server that takes an api key (openpi-client's `Authorization: Api-Key`
// header) and one behind TLS with a lab's own certificate, both real (test/peers/python/openpi_server.py over the
// websockets package's TLS); and the same link run by the daemon, whose status names the endpoint, never the key.
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupStack } from '../helpers/cleanups.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { runMain } from '../helpers/cli.ts';
import { startDaemon } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/paths.ts';
import { selfSignedCert } from '../helpers/self-signed-cert.ts';
import { waitFor } from '../helpers/wait.ts';
import { startOpenpiServer } from '../peers/openpi.ts';
import { loopHarness } from './loop-harness.ts';

const cleanups = cleanupStack();
const tmp = tempDir('remote-openpi-auth-');
afterAll(() => tmp.cleanup());
const ARRAY = 'std_msgs/msg/Float64MultiArray';
const KEY = 'lab-key-5f2a9c';

/** A loop at 50 Hz on the openpi server at `url`, with `remote` settings over it. */
async function remoteLoop(url: string, remote: Record<string, unknown> = {}) {
  const harness = loopHarness(
    '',
    { rate_hz: 50, on_underrun: 'hold' },
    {
      inputs: { obs: { shape: [2], sources: [{ constant: [0.5, -0.5] }] } },
      remote: { settings: { openpi: url, reconnect_min_ms: 50, reconnect_max_ms: 200, ...remote }, chunk: [10, 2] },
    },
  );
  await harness.control.start();
  cleanups.push(() => harness.bus.close());
  cleanups.push(() => harness.control.close());
  return harness;
}

describe('an openpi server that takes an api key', () => {
  it('refuses a loop without its key, which holds and says to check remote.api_key; takes one with it', async () => {
    const server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2, apiKey: KEY });
    cleanups.push(() => server.close());
    const wrong = await remoteLoop(server.url, { api_key: 'not-the-key' });
    await waitFor(() => wrong.control.stats().remote?.reason?.includes('HTTP 401') ?? false, 'the 401');
    expect(wrong.control.stats().remote!.reason).toMatch(
      /^(refused|connecting again \(refused): the server answered the handshake with HTTP 401 Unauthorized: check remote\.api_key/,
    );
    const right = await remoteLoop(server.url, { api_key: KEY });
    await waitFor(() => right.control.stats().chunks >= 2, 'chunks with the key');
    // The loop that was refused had every chance the other took, and got nothing.
    expect(wrong.control.stats().chunks).toBe(0);
    expect(wrong.commands.every((c) => c.safe)).toBe(true);
  });
});

describe('an openpi server behind TLS', () => {
  it("connects over wss:// to a server whose certificate remote.ca_file names, and refuses one it can't trust", async () => {
    const tls = selfSignedCert(tmp.path);
    const server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2, tls });
    cleanups.push(() => server.close());
    expect(server.url).toMatch(/^wss:\/\//);
    const untrusted = await remoteLoop(server.url);
    await waitFor(() => /self-signed certificate/.test(untrusted.control.stats().remote?.reason ?? ''), 'refused');
    const trusted = await remoteLoop(server.url, { ca_file: tls.cert });
    await waitFor(() => trusted.control.stats().chunks >= 2, 'chunks over TLS');
    expect(untrusted.control.stats().chunks).toBe(0);
  });

  it('runs in the daemon with a key over TLS: status names the endpoint, its round trips, and never the key', async () => {
    const tls = selfSignedCert(tmp.path);
    const server = await startOpenpiServer({ policy: 'ramp', chunk: 10, actionDim: 2, tls, apiKey: KEY });
    cleanups.push(() => server.close());
    const { daemon, stop } = await startDaemon(
      {
        api: { port: 0 },
        policies: {
          pi0: {
            remote: { openpi: server.url, api_key: KEY, ca_file: tls.cert },
            inputs: { obs: { shape: [2], sources: [{ constant: [0.5, -0.5] }] } },
            outputs: { actions: { shape: [10, 2], command: { topic: '/cmd', type: ARRAY } } },
          },
        },
        control: { loops: { arm: { policy: 'pi0', rate_hz: 30 } } },
      },
      'remote-openpi-',
    );
    cleanups.push(stop);
    const details = () =>
      (daemon.componentHealth().control!.details as Record<string, { remote: Record<string, unknown> }>).arm!.remote;
    await waitFor(() => (details().chunks as number) >= 2, 'chunks in the daemon');
    expect(details()).toMatchObject({ endpoint: `openpi ${server.url}`, state: 'up', failures: {}, last_error: null });
    expect(details().rtt_p50_ms).toBeGreaterThan(0);
    expect(daemon.componentHealth().control!.state).toBe('running');
    expect(JSON.stringify(daemon.componentHealth())).not.toContain(KEY);
    const status = await runMain(['status', '--url', daemon.ports.get(PORTS.api)!.url!]);
    expect(status.stdout).toMatch(
      /\n {4}remote openpi wss:\/\/127\.0\.0\.1:\d+ up, \d+ chunks, round trip p50 [\d.]+, p99 [\d.]+ ms\n/,
    );
    expect(status.stdout).not.toContain(KEY);
    const metrics = await (await fetch(`${daemon.ports.get(PORTS.api)!.url!}/metrics`)).text();
    expect(metrics).toContain('auraison_control_loop_remote_up{loop="arm"} 1');
    expect(metrics).toMatch(
      /auraison_control_loop_remote_round_trip_seconds\{loop="arm",quantile="0\.99"\} [\d.e-]+\n/,
    );
  });
});
