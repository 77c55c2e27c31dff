import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { checkConfigText } from '../../daemon/config/load.ts';
import { policyStartIssues } from '../../daemon/system1/policy-check.ts';

const ARRAY = 'std_msgs/msg/Float64MultiArray';

type Fields = Record<string, unknown>;
interface Config {
  policies: {
    pi0: { model?: string; remote?: Fields; inputs: Record<string, Fields>; outputs: Record<string, Fields> };
  };
  control: { loops: { arm: Fields } };
}

/** A remote policy (openpi unless `remote` says otherwise) and a loop on it, with `change` applied. */
function config(change: (c: Config) => void = () => undefined): string {
  const c: Config = {
    policies: {
      pi0: {
        remote: { openpi: 'ws://gpu-host:8000' },
        inputs: { 'observation/state': { shape: [6], sources: [{ topic: '/obs', field: 'data' }] } },
        outputs: { actions: { shape: [50, 6], command: { topic: '/cmd', type: ARRAY } } },
      },
    },
    control: { loops: { arm: { policy: 'pi0', rate_hz: 30 } } },
  };
  change(c);
  return stringify(c);
}

/** The issues `auraison-edge config check` prints, and those the start would find (each `path: message`). */
function issues(text: string): string[] {
  const check = checkConfigText(text, {});
  const found = check.issues.map((i) => `${i.path}: ${i.message}`);
  if (check.config) found.push(...policyStartIssues(check.config).map((i) => `${i.path}: ${i.message}`));
  return found;
}

describe('a remote policy in the config', () => {
  it('loads as it is, with every remote key at its default', () => {
    const check = checkConfigText(config(), {});
    expect(check.issues).toEqual([]);
    expect(check.config!.policies.pi0!.remote).toMatchObject({
      openpi: 'ws://gpu-host:8000',
      api_key: '',
      timeout_ms: 1000,
      max_reply_bytes: 1_048_576,
    });
    expect(policyStartIssues(check.config!)).toEqual([]);
  });

  it('needs model or remote, never both, and one server', () => {
    expect(issues(config((c) => void (c.policies.pi0.model = 'act.onnx')))).toContain(
      'policies.pi0: give model (an .onnx file run here) or remote (a policy served elsewhere), not both',
    );
    expect(issues(config((c) => delete c.policies.pi0.remote))).toContain(
      'policies.pi0: needs model (an .onnx file run here) or remote (a policy served elsewhere: zenoh or openpi)',
    );
    expect(issues(config((c) => (c.policies.pi0.remote!.zenoh = 'ai/inference/vla/act')))).toContain(
      'policies.pi0.remote: name one server: zenoh (ai/inference/vla/<policy> of another daemon) or openpi (ws:// or wss://)',
    );
    expect(issues(config((c) => (c.policies.pi0.remote!.openpi = 'http://gpu-host:8000'))).join()).toMatch(
      /policies\.pi0\.remote\.openpi/,
    );
  });

  it('needs each shape declared, and no normalization here (the server normalizes)', () => {
    expect(issues(config((c) => delete c.policies.pi0.inputs['observation/state']!.shape))).toContain(
      'policies.pi0.inputs.observation/state.shape: a remote policy declares each input shape as its server takes it, e.g. [6] or [224, 224, 3]',
    );
    expect(issues(config((c) => (c.policies.pi0.outputs.actions!.shape = [6]))).join()).toMatch(
      /policies\.pi0\.outputs\.actions\.shape: a remote policy's action output is \[chunk, action size\]/,
    );
    expect(
      issues(config((c) => (c.policies.pi0.inputs['observation/state']!.normalize = { mode: 'identity' }))),
    ).toContain(
      'policies.pi0.inputs.observation/state.normalize: a remote policy gets raw values and its server normalizes them; remove it',
    );
  });

  it('refuses a shape on a local model, whose graph gives it', () => {
    const local = config((c) => {
      delete c.policies.pi0.remote;
      c.policies.pi0.model = 'act.onnx';
    });
    expect(issues(local)).toContain(
      "policies.pi0.inputs.observation/state.shape: only a remote policy declares it: the model's graph gives its inputs' shapes; remove it",
    );
  });

  it('refuses a loop that would wait for the network inside its tick, and an api key for a Zenoh policy', () => {
    expect(issues(config((c) => (c.control.loops.arm.chunking = { inference: 'inline' })))).toContain(
      'control.loops.arm.chunking: policy pi0 is remote: its chunks come over the network, so the loop asks for them off the tick (inference: async, no temporal_ensemble_coeff), never waits for one inside it',
    );
    const zenoh = (c: Config) => (c.policies.pi0.remote = { zenoh: 'ai/inference/vla/act' });
    // A loop process asks a Zenoh policy through the daemon's link: no issue.
    const isolated = config((c) => {
      zenoh(c);
      c.control.loops.arm.isolation = 'process';
    });
    expect(issues(isolated)).toEqual([]);
    expect(
      issues(
        config((c) => {
          zenoh(c);
          c.policies.pi0.remote!.api_key = 'secret';
        }),
      ),
    ).toContain(
      "policies.pi0.remote.api_key: is for openpi: a Zenoh policy is reached through the daemon's Zenoh link, whose TLS and access the router sets",
    );
  });
});
