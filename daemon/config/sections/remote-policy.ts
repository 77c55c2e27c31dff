import Type, { type Static } from 'typebox';

/** The most a reply may be by default: a chunk of 50 actions of 32 float64 is 12.8 kB; a megabyte is a fault. */
const DEFAULT_MAX_REPLY_BYTES = 1_048_576;

/**
 * A policy served elsewhere (`policies.<name>.remote`, in place of `model`): another daemon's
 * `ai/inference/vla/<policy>` over this daemon's Zenoh link, or an openpi websocket policy server. A loop drives the
 * robot from its chunks behind the same frame as a local policy's. The endpoint is named here and nowhere else.
 */
export const RemotePolicyConfig = Type.Object(
  {
    zenoh: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
        description:
          "Another daemon's served policy, asked over this daemon's Zenoh link (zenoh.endpoint): ai/inference/vla/<policy>.",
      }),
    ),
    openpi: Type.Optional(
      Type.String({
        pattern: '^wss?://',
        description:
          "An openpi websocket policy server (openpi's serve_policy.py): ws://gpu-host:8000, or wss:// for TLS.",
      }),
    ),
    api_key: Type.String({
      default: '',
      description:
        'openpi: sent on connect as `Authorization: Api-Key <key>`, as openpi-client sends it. Use ${ENV}; over ws:// to another host it crosses the network in clear.',
    }),
    ca_file: Type.String({
      default: '',
      description: "openpi over wss://: PEM CA bundle that signed the server's certificate; empty: the system's CAs.",
    }),
    fields: Type.Record(Type.String({ minLength: 1 }), Type.Union([Type.String(), Type.Number()]), {
      default: {},
      description:
        'openpi: constant entries sent with every observation beside the inputs, e.g. {prompt: pick up the cube}.',
    }),
    timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      default: 1000,
      description:
        'A chunk not back this long after its observation went out is given up: the loop holds meanwhile and asks again; an openpi connection that let it pass is closed and made anew.',
    }),
    max_reply_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1_073_741_824,
      default: DEFAULT_MAX_REPLY_BYTES,
      description: 'A bigger reply is refused unread (openpi: the connection is closed and made anew).',
    }),
    reconnect_min_ms: Type.Integer({
      minimum: 1,
      default: 250,
      description: 'openpi: the first wait before connecting again after a loss; it doubles up to reconnect_max_ms.',
    }),
    reconnect_max_ms: Type.Integer({ minimum: 1, default: 10_000 }),
  },
  { additionalProperties: false },
);

export type RemotePolicySettings = Static<typeof RemotePolicyConfig>;

/** The part of a policy's settings the remote checks read. */
interface PolicyShape {
  model?: string;
  remote?: RemotePolicySettings;
  inputs: Record<string, { shape?: number[]; dtype?: string; normalize?: unknown; image?: unknown }>;
  outputs: Record<string, { shape?: number[]; unnormalize?: unknown }>;
}

interface LoopShape {
  policy: string;
  chunking: { inference: string; temporal_ensemble_coeff?: number };
}

/**
 * What a policy's own keys cannot say of model and remote: exactly one of them, shapes declared for a remote policy
 * (its server has no graph to read them from) and only for it, no normalization here (the server normalizes), and a
 * loop that can run it (chunks asked for off the tick). Each issue names its key.
 */
export function remotePolicyIssues(
  policies: Record<string, PolicyShape>,
  loops: Record<string, LoopShape>,
): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  for (const [name, p] of Object.entries(policies)) {
    const at = `policies.${name}`;
    const remote = p.remote;
    if ((p.model === undefined) === (remote === undefined)) {
      issues.push({
        path: at,
        message: remote
          ? 'give model (an .onnx file run here) or remote (a policy served elsewhere), not both'
          : 'needs model (an .onnx file run here) or remote (a policy served elsewhere: zenoh or openpi)',
      });
      continue;
    }
    if (!remote) {
      for (const [key, input] of Object.entries(p.inputs))
        for (const declared of ['shape', 'dtype'] as const)
          if (input[declared] !== undefined)
            issues.push({
              path: `${at}.inputs.${key}.${declared}`,
              message: `only a remote policy declares it: the model's graph gives its inputs' ${declared}s; remove it`,
            });
      for (const [key, output] of Object.entries(p.outputs))
        if (output.shape !== undefined)
          issues.push({
            path: `${at}.outputs.${key}.shape`,
            message: "only a remote policy declares it: the model's graph gives its outputs' shapes; remove it",
          });
      continue;
    }
    issues.push(...remoteIssues(at, p, remote));
  }
  for (const [name, loop] of Object.entries(loops)) {
    const remote = policies[loop.policy]?.remote;
    if (!remote) continue;
    const at = `control.loops.${name}`;
    if (loop.chunking.inference !== 'async' || loop.chunking.temporal_ensemble_coeff !== undefined)
      issues.push({
        path: `${at}.chunking`,
        message: `policy ${loop.policy} is remote: its chunks come over the network, so the loop asks for them off the tick (inference: async, no temporal_ensemble_coeff), never waits for one inside it`,
      });
  }
  return issues;
}

function remoteIssues(at: string, p: PolicyShape, remote: RemotePolicySettings): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if ((remote.zenoh === undefined) === (remote.openpi === undefined))
    issues.push({
      path: `${at}.remote`,
      message: 'name one server: zenoh (ai/inference/vla/<policy> of another daemon) or openpi (ws:// or wss://)',
    });
  if (remote.zenoh !== undefined) {
    // The Zenoh link's own TLS and access control are the router's and the bridge's, set in zenoh.endpoint.
    for (const key of ['api_key', 'ca_file'] as const)
      if (remote[key] !== '')
        issues.push({
          path: `${at}.remote.${key}`,
          message:
            "is for openpi: a Zenoh policy is reached through the daemon's Zenoh link, whose TLS and access the router sets",
        });
    if (Object.keys(remote.fields).length > 0)
      issues.push({
        path: `${at}.remote.fields`,
        message: 'is for openpi: a served policy takes tensors by input name only',
      });
  }
  if (remote.reconnect_min_ms > remote.reconnect_max_ms)
    issues.push({
      path: `${at}.remote.reconnect_min_ms`,
      message: `${remote.reconnect_min_ms} is more than reconnect_max_ms (${remote.reconnect_max_ms})`,
    });
  for (const [key, input] of Object.entries(p.inputs)) {
    if (input.shape === undefined)
      issues.push({
        path: `${at}.inputs.${key}.shape`,
        message: 'a remote policy declares each input shape as its server takes it, e.g. [6] or [224, 224, 3]',
      });
    if (input.dtype === 'uint8' && input.image === undefined)
      issues.push({ path: `${at}.inputs.${key}.dtype`, message: 'uint8 is for a camera input (image:)' });
    if (input.normalize !== undefined)
      issues.push({
        path: `${at}.inputs.${key}.normalize`,
        message: 'a remote policy gets raw values and its server normalizes them; remove it',
      });
  }
  const outputs = Object.entries(p.outputs);
  if (outputs.length === 0)
    issues.push({ path: `${at}.outputs`, message: 'a remote policy names its action output, with its shape' });
  for (const [key, output] of outputs) {
    if (output.shape?.length !== 2)
      issues.push({
        path: `${at}.outputs.${key}.shape`,
        message: `a remote policy's action output is [chunk, action size] as its server replies it, e.g. [50, 6]; got ${JSON.stringify(output.shape ?? null)}`,
      });
    if (output.unnormalize !== undefined)
      issues.push({
        path: `${at}.outputs.${key}.unnormalize`,
        message: "a remote policy's server replies actions in the robot's units; remove it",
      });
  }
  return issues;
}
