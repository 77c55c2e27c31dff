// The CLI does what the README and its own --help say: client commands with an invalid config, usage on
// bad usage, API keys, options that only apply with another.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runMain, tempDir } from '../helpers/cli.ts';
import { deadPort } from '../helpers/closed-port.ts';
import { writeStatusFile } from '../helpers/status-file.ts';

const work = tempDir('cli-as-documented-');
afterAll(() => work.cleanup());

describe('client commands while the config file is invalid', () => {
  it('status still finds the daemon and shows that the reload of that file was rejected (README: "Did my reload apply?")', async () => {
    const dir = join(work.path, 'status');
    mkdirSync(dir);
    const error = 'edge.yaml: sim.speed: expected number >= 0.01, got "fast"';
    const config = writeStatusFile(dir, {
      components: { foxglove: { state: 'running', details: { url: 'ws://127.0.0.1:43415' } } },
      last_reload: {
        at: new Date().toISOString(),
        ok: false,
        file: join(dir, 'edge.yaml'),
        error,
        hint: 'fix the file, then reload again',
        restarted: [],
        pending_restart: [],
      },
    });
    // The user's edit that the daemon refused: the file on disk is now invalid.
    writeFileSync(config, 'api:\n  enabled: false\nsim:\n  speed: fast\n');
    const r = await runMain(['status', '--config', config], { cwd: dir });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`REJECTED, the running config stays: ${error} (fix the file, then reload again)`);
    expect(r.stderr).toContain('warning: edge.yaml is not a valid config');
    expect(r.stderr).toContain(error);
    // With foxglove.port 0 the port is picked at start: the human status says where to connect.
    expect(r.stdout).toContain('foxglove         running at ws://127.0.0.1:43415\n');
  });

  it('approve and intent reach for the daemon the file names; a file whose api itself is invalid still fails', async () => {
    const port = await deadPort();
    const config = join(work.path, 'approve.yaml');
    writeFileSync(config, `data_dir: ./approve-data\napi:\n  port: ${port}\nagent:\n  max_refines: lots\n`);
    for (const args of [
      ['approve', '01a1fe11-b117'],
      ['intent', 'stop'],
    ]) {
      const r = await runMain([...args, '--config', config], { cwd: work.path });
      expect(r.code, args[0]).toBe(1);
      expect(r.stderr).toContain('agent.max_refines: expected integer');
      expect(r.stderr).toContain(`no answer from the API at http://127.0.0.1:${port}`);
      // The daemon to start for a client: `run`, or npm start's sim, which runs on after its drive until Ctrl-C.
      expect(r.stderr).toContain('start one (`auraison-edge run`, which with no config file runs the sim;');
      expect(r.stderr).toContain('`npm start` in the checkout drives the sim, then runs on until Ctrl-C');
    }
    writeFileSync(config, 'api:\n  port: none\nagent:\n  max_refines: lots\n');
    const bad = await runMain(['approve', '01a1fe11-b117', '--config', config], { cwd: work.path });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('auraison-edge approve: invalid config');
    expect(bad.stderr).toContain('api.port: expected integer');
  });
});

describe('usage shown on bad usage', () => {
  it('keeps the lines a long usage wraps onto, and lists every form when no subcommand was given', async () => {
    const sim = await runMain(['sim'], { cwd: work.path });
    expect(sim.code).toBe(2);
    expect(sim.stderr).toContain('[--duration S] [--speed N] [--config FILE] [--record | --no-record]\n');
    expect(sim.stderr).toContain('[--log-level LEVEL] [--json]\n');
    const config = await runMain(['config'], { cwd: work.path });
    expect(config.code).toBe(2);
    expect(config.stderr).toContain(
      'Usage: auraison-edge config check [--config FILE] [--json]\n       auraison-edge config show [--config FILE] [--json]\n',
    );
    const show = await runMain(['runs', 'show'], { cwd: work.path });
    expect(show.stderr).toContain('Usage: auraison-edge runs show ID');
    expect(show.stderr).not.toContain('runs diff');
  });
});

describe('auraison-edge llm check and API keys', () => {
  it('refuses --api-key-env without --base-url, and a key pasted in place of its variable name without echoing it', async () => {
    const alone = await runMain(['llm', 'check', '--api-key-env', 'VLLM_API_KEY'], { cwd: work.path });
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--api-key-env is for --base-url');
    const pasted = await runMain(
      ['llm', 'check', '--base-url', 'http://127.0.0.1:9/v1', '--api-key-env', 'sk-live-0123456789'],
      { cwd: work.path },
    );
    expect(pasted.code).toBe(2);
    expect(pasted.stderr).toContain('--api-key-env: not an environment variable name (value not shown)');
    expect(pasted.stderr).not.toContain('sk-live-0123456789');
  });

  it("warns that a configured endpoint's key variable is unset, as the daemon does, instead of checking it keyless in silence", async () => {
    const port = await deadPort();
    const config = join(work.path, 'llm.yaml');
    writeFileSync(
      config,
      `llm:\n  endpoints:\n    - {name: gateway, base_url: "http://127.0.0.1:${port}/v1", model: m, api_key_env: DOCS_DRIFT_GATEWAY_KEY}\n`,
    );
    const r = await runMain(['llm', 'check', '--config', config], {
      cwd: work.path,
      env: { DOCS_DRIFT_GATEWAY_KEY: undefined },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('warning: llm.endpoints[gateway].api_key_env: $DOCS_DRIFT_GATEWAY_KEY is not set');
    const set = await runMain(['llm', 'check', '--config', config], {
      cwd: work.path,
      env: { DOCS_DRIFT_GATEWAY_KEY: 'k' },
    });
    expect(set.stderr).toBe('');
  });
});

describe('options that only apply with another', () => {
  it('refuse approve --reason without --cancel and intent --timeout-s without --wait, rather than drop them', async () => {
    const reason = await runMain(['approve', '01a1fe11-b117', '--reason', 'checked the room'], { cwd: work.path });
    expect(reason.code).toBe(2);
    expect(reason.stderr).toContain('--reason is for --cancel');
    const timeout = await runMain(['intent', 'stop', '--timeout-s', '5'], { cwd: work.path });
    expect(timeout.code).toBe(2);
    expect(timeout.stderr).toContain('--timeout-s is for --wait');
  });
});
