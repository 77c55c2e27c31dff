// Under systemd, the daemon's STATUS (what `systemctl status` shows) and its journal follow its health: a control loop
// that turns blind is said there once, naming its input and topic, and nothing is sent after STOPPING.
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { BIN, tempDir } from '../helpers/cli.ts';
import { waitFor } from '../helpers/wait.ts';
import { writeChannelMeanModel } from '../system1/vision-models.ts';

const work = tempDir('systemd-status-');
afterAll(() => work.cleanup());

describe("the daemon's STATUS under systemd", () => {
  it('says a blind control loop, with its input and topic, once; the journal too; a design choice (no model endpoint) is not a fault', async () => {
    const model = writeChannelMeanModel(work.path, 'eye', { height: 12, width: 16, output: 'actions' });
    const config = join(work.path, 'edge.yaml');
    writeFileSync(
      config,
      stringify({
        data_dir: './data',
        sim: { enabled: false },
        foxglove: { enabled: false },
        api: { enabled: false },
        // Each health check is a debug line: the test counts those after the first STATUS.
        log: { level: 'debug' },
        policies: {
          eye: {
            model,
            inputs: { 'observation.images.front': { image: { topic: '/camera/nope' } } },
            outputs: { actions: { command: { topic: '/cmd', type: 'std_msgs/msg/Float64MultiArray' } } },
          },
        },
        control: { loops: { eye: { policy: 'eye', rate_hz: 20, max_observation_age_ms: 100 } } },
      }),
    );
    // A stand-in for the systemd-notify tool on PATH that records what the daemon asked it to send.
    const bin = join(work.path, 'bin');
    const calls = join(work.path, 'notify-calls.txt');
    mkdirSync(bin);
    writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "$@" >> ${calls}\n`);
    chmodSync(join(bin, 'systemd-notify'), 0o755);
    const child = spawn(process.execPath, [BIN, 'run', '--config', config], {
      cwd: work.path,
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, NOTIFY_SOCKET: '/run/fake/notify' },
    });
    let journal = '';
    child.stderr.on('data', (chunk: Buffer) => (journal += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    const seen = () => (existsSync(calls) ? readFileSync(calls, 'utf8') : '');
    try {
      await waitFor(() => seen().includes('--status=running, not ready'), 'a not-ready STATUS', 60_000);
      // A few more health checks: the same line is not sent again.
      await waitFor(() => journal.includes('"msg":"daemon not ready"'), 'the journal line', 10_000);
      const checks = () => journal.split('"msg":"daemon not ready"')[1]!.split('"msg":"health checked"').length - 1;
      await waitFor(() => checks() >= 3, 'three health checks after the first not-ready line', 60_000);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    const lines = seen().trim().split('\n');
    const statuses = lines.filter((l) => l.includes('--status=running, not ready'));
    expect(statuses).toHaveLength(1);
    expect(statuses[0]).toMatch(
      /--status=running, not ready: control degraded: control loop eye is blind \(input observation\.images\.front reads \/camera\/nope: no message in \d+\.\d s\): it sends only its safe action$/,
    );
    expect(lines.at(-1)).toMatch(/STOPPING=1$/);
    const degraded = journal.split('\n').filter((l) => l.includes('"msg":"daemon not ready"'));
    expect(degraded).toHaveLength(1);
    expect(degraded[0]).toContain('control loop eye is blind (input observation.images.front reads /camera/nope');
  });
});
