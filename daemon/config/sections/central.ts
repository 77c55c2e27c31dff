import Type, { type Static } from 'typebox';
import { redactUrl } from '../../util/index.ts';
import { RosName } from '../../names/index.ts';
import { Section } from '../section.ts';

/**
 * Config section of the central link (central-link/): MQTT 5 to the fleet's coordinator. Off by default:
 * with no central the daemon runs edge first, and keeps every run and event in its journal for when one
 * is configured.
 */

/** The longest delay setTimeout keeps: a longer one fires after 1 ms. */
const MAX_TIMER_S = Math.floor((2 ** 31 - 1) / 1000);

const File = (description: string) => Type.String({ default: '', description });

export const CentralOutboxConfig = Section(
  {
    batch_records: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 200,
      description: 'Most journal records in one message on the events topic.',
    }),
    batch_bytes: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 256 * 1024,
      description:
        "A batch closes before its JSON passes this size (a single larger record goes alone, up to the broker's maximum packet size).",
    }),
    max_inflight: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 4,
      description:
        "Batches published and not yet acknowledged (PUBACK) by the broker; never more than the broker's Receive Maximum less 4.",
    }),
  },
  'The outbox: journal records (runs and agent events) published on the events topic, at least once, from a cursor kept in <data_dir>/state/central-outbox.json.',
);

/**
 * What central may change in the config (central-link/remote-config.ts). The local file is the authority:
 * these keys are its own, and the `central` and `robot` sections are always the file's (protectedChanges), so
 * central cannot cut itself off.
 */
export const DEFAULT_PROTECTED_KEYS = [
  'data_dir',
  'motion',
  'agent.rules',
  'api.host',
  'api.token',
  'foxglove.host',
  'foxglove.allow_remote',
  'foxglove.allowed_origins',
  'foxglove.client_publish',
  'control.loops.*.safe_action',
  'control.loops.*.allow_moving_safe_action',
  'policies.*.outputs.*.command.clip',
  'llm.endpoints',
];

/**
 * What central may change unless the file says otherwise: what a fleet tunes, nothing that guards the robot or
 * its record. Which topics are recorded, not whether the recorder runs; how long the journal keeps what central
 * already has, not its size (past max_mb records central never got are deleted).
 */
export const DEFAULT_SETTABLE_KEYS = [
  'log.level',
  'recorder.include',
  'recorder.exclude',
  'lakehouse.project_exclude',
  'journal.retain_days',
  'agent.named_poses',
  'agent.system_prompt',
];

export const CentralRemoteConfig = Section(
  {
    enabled: Type.Boolean({
      default: true,
      description:
        'Take configs central sends on the config topic (applied over this file, as a reload applies it). false: every one is refused.',
    }),
    settable_keys: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_*-]+(\\.[A-Za-z0-9_*-]+)*$' }), {
      default: DEFAULT_SETTABLE_KEYS,
      description:
        "The only key paths central may change (a key and everything under it; * stands for one key); any other key in a config from central refuses the whole config, naming it. Whatever this lists, central never changes the API, the stop latch, approvals, data_dir, retention's delete of unsynced data, the journal's durability, the bridges' and model endpoints, policy.*, or the central and robot sections.",
    }),
    protected_keys: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_*-]+(\\.[A-Za-z0-9_*-]+)*$' }), {
      default: DEFAULT_PROTECTED_KEYS,
      description:
        "Key paths central may not change (a key and everything under it; * stands for one key). By default the safety limits (motion: velocity, joint limits, geofence, the stop; agent.rules: allow lists, quotas; loops' safe actions and clips), data_dir, who may reach the API, and the model endpoints (where the robot sends its API keys). The central and robot sections are always protected.",
    }),
  },
  'Config from central: applied over this file, kept in <data_dir>/state/central-config.json across restarts.',
);

const HHMM = '^([01][0-9]|2[0-3]):[0-5][0-9]$';

export const CentralUploadWindow = Type.Object(
  {
    start: Type.String({ pattern: HHMM, description: 'Local time the window opens, HH:MM.' }),
    end: Type.String({
      pattern: HHMM,
      description: 'Local time it closes, HH:MM (before start: it runs past midnight).',
    }),
    bytes_per_s: Type.Optional(
      Type.Integer({ minimum: 0, description: 'The budget inside the window (0: unlimited); absent: bulk only then.' }),
    ),
  },
  { additionalProperties: false },
);

export const CentralSyncConfig = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        'Offer sealed bag splits and lakehouse parquet to central, upload them to the URLs it grants, and let retention delete first what central has. Needs central.enabled.',
    }),
    storage_origins: Type.Array(Type.String({ pattern: '^https?://[^/?#]+(/[^?#]*)?$' }), {
      default: [],
      description:
        'Where uploads may go: URL prefixes (scheme, host, port and bucket path, e.g. https://s3.lab:9000/fleet/). A grant whose URL is under none is refused and counted, nothing is sent. Empty: the storage a grant central signed names (central.command_keys); an unsigned grant is refused.',
    }),
    kinds: Type.Array(Type.Union([Type.Literal('bag'), Type.Literal('table'), Type.Literal('events')]), {
      default: ['bag', 'table', 'events'],
      uniqueItems: true,
      description:
        'What is offered: bag (MCAP splits), table (lakehouse parquet of bags), events (agent events parquet).',
    }),
    bags: Section(
      {
        topics: Type.Array(RosName(), {
          default: [],
          description: 'Offer only bags that recorded one of these topics (empty: no limit by topic).',
        }),
        tags: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            "Or bags with one of these tags (`snapshot`: the snapshot recorder's bags). Both empty: every bag.",
        }),
      },
      'Which bags are offered; the others are not_wanted at once (retention may delete them).',
    ),
    max_outstanding_offers: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 8,
      description: 'Offers sent and not yet answered by central.',
    }),
    offers_per_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1000,
      default: 5,
      description: 'Most offers sent per second (a backlog of thousands of files does not flood the broker).',
    }),
    offer_timeout_s: Type.Number({
      minimum: 1,
      maximum: 86_400,
      default: 120,
      description: 'An offer central has not answered by then is sent again.',
    }),
    part_size_mb: Type.Optional(
      Type.Integer({
        minimum: 5,
        maximum: 5120,
        description: "Part size the edge asks for in multipart uploads (central decides; absent: central's).",
      }),
    ),
  },
  'Bulk sync (docs/sync.md): bags and lakehouse files offered to central and uploaded to the URLs it grants.',
);

export const CentralConfig = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Connect to central. Off: no central link (edge first: nothing else changes).',
    }),
    url: Type.String({
      default: '',
      description: 'The MQTT 5 broker: mqtt://host:1883, mqtts://host:8883 (TLS), ws://host/mqtt or wss://host/mqtt.',
    }),
    client_id: Type.String({
      maxLength: 128,
      default: '',
      description:
        'MQTT client id; empty: auraison-edge-<robot.fleet>-<robot.id>. It names the persistent session, so keep it stable.',
    }),
    username: Type.String({ default: '' }),
    password: Type.String({ default: '', description: 'Use ${AURAISON_CENTRAL_PASSWORD}.' }),
    ca_file: File("PEM CA bundle that signed the broker's certificate (mqtts, wss); empty: the system's CAs."),
    cert_file: File('PEM client certificate, for brokers that authenticate robots by certificate (with key_file).'),
    key_file: File('PEM private key of cert_file.'),
    topic_prefix: Type.String({
      pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
      default: 'auraison',
      description:
        'Topics are <topic_prefix>/<robot.fleet>/<robot.id>/{events,heartbeat,status,acks} up and .../{intents,config} down.',
    }),
    keepalive_s: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 30,
      description: 'MQTT keep alive: a link silent 1.5 times this long is taken as lost.',
    }),
    connect_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 600,
      default: 10,
      description: 'A connection attempt that has no CONNACK by then is given up and retried.',
    }),
    session_expiry_s: Type.Integer({
      minimum: 0,
      maximum: 4_294_967_295,
      default: 604_800,
      description:
        "How long the broker keeps this robot's session while it is offline: intents central sends meanwhile (QoS 1) wait there and arrive on reconnect. 0: none kept.",
    }),
    reconnect_min_s: Type.Number({
      minimum: 0.05,
      maximum: MAX_TIMER_S,
      default: 1,
      description: 'First wait before reconnecting; doubles per failed try, with jitter.',
    }),
    reconnect_max_s: Type.Number({
      minimum: 0.05,
      maximum: MAX_TIMER_S,
      default: 60,
      description: 'Longest wait between tries (a fleet coming back must not all knock at once).',
    }),
    heartbeat_s: Type.Number({
      minimum: 0.1,
      maximum: MAX_TIMER_S,
      default: 10,
      description: 'A heartbeat (components, outbox backlog, runs) goes up this often while connected.',
    }),
    intents: Type.Boolean({
      default: true,
      description:
        'Take intents from central on the intents topic (validated, then run by the agent as any other intent).',
    }),
    max_intent_bytes: Type.Integer({
      minimum: 1024,
      maximum: 16 * 1024 * 1024,
      default: 1024 * 1024,
      description:
        'Larger intent messages are refused with an ack saying so, up to 64 KiB more; past that the broker drops them unanswered (the MQTT 5 maximum packet size the robot gives it).',
    }),
    rate_limits: Section(
      {
        intents_per_min: Type.Number({
          exclusiveMinimum: 0,
          default: 120,
          description:
            'Intents taken per minute (and as many at once); past it each is refused (PUBACK 0x97) and counted.',
        }),
        configs_per_min: Type.Number({
          exclusiveMinimum: 0,
          default: 10,
          description: 'Configs from central taken per minute.',
        }),
        resends_per_min: Type.Number({
          exclusiveMinimum: 0,
          default: 30,
          description: 'Resend requests taken per minute.',
        }),
      },
      'What comes down the link, per kind: a flood is cut at the rate, counted in auraison_central_rate_limited_total. The operator stop never comes this way.',
    ),
    command_keys: Type.Array(Type.String({ minLength: 1 }), {
      default: [],
      description:
        "Central's public keys that sign its commands (intents, config, grants, resends): each the base64 line `auraison-edge central keygen` prints, a PEM public key, or the path of a file holding one. Several while a key is rotated. Empty: every command from the link is refused (status says so), unless require_signed_commands is false.",
    }),
    require_signed_commands: Type.Optional(
      Type.Boolean({
        description:
          "Refuse a command central did not sign (counted, acked with the reason). Absent: true. false: the robot's explicit opt-out: unsigned commands are taken from any broker client (warned at start and in status), and with command_keys a signed one is still checked.",
      }),
    ),
    intent_ack_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 10,
      description:
        'An intent is acknowledged to the broker once its run is durable; past this (a slow disk, the agent restarting) it is acknowledged with a `pending` ack, and its outcome follows.',
    }),
    outbox: CentralOutboxConfig,
    max_upload_bytes_per_s: Type.Integer({
      minimum: 0,
      default: 0,
      description:
        "The link's upload budget, bytes per second, shared by heartbeats and acks (first), events, then bulk uploads. 0: unlimited.",
    }),
    upload_windows: Type.Array(CentralUploadWindow, {
      default: [],
      description:
        'Times of day bulk uploads may run (local time), each with its own budget if bytes_per_s is given; empty: any time. Events and control always go.',
    }),
    sync: CentralSyncConfig,
    remote_config: CentralRemoteConfig,
  },
  "The central link: MQTT 5 to the fleet's coordinator (intents and config down; events, heartbeats, status and acks up).",
);

export const CENTRAL_SECTIONS = { central: CentralConfig } satisfies Type.TProperties;

export type CentralSettings = Static<typeof CentralConfig>;

const SCHEMES = new Set(['mqtt:', 'mqtts:', 'ws:', 'wss:']);

/** What no one key's schema can see: a link switched on with no URL, a URL of another scheme, half a key pair. */
export function centralIssues(config: { central: CentralSettings }): { path: string; message: string }[] {
  const { central } = config;
  const issues: { path: string; message: string }[] = [];
  if (central.reconnect_max_s < central.reconnect_min_s) {
    issues.push({
      path: 'central.reconnect_max_s',
      message: `${central.reconnect_max_s} is below central.reconnect_min_s (${central.reconnect_min_s})`,
    });
  }
  // While an intent is handled mqtt.js reads nothing else from the broker, its PINGRESP included: a wait
  // longer than half the keep alive would have the link taken for dead, and the intent sent again.
  if (central.intent_ack_timeout_s > central.keepalive_s / 2) {
    issues.push({
      path: 'central.intent_ack_timeout_s',
      message: `${central.intent_ack_timeout_s} is over half of central.keepalive_s (${central.keepalive_s}): while an intent waits the link reads nothing, so the keep alive would drop it; lower this or raise keepalive_s`,
    });
  }
  if ((central.cert_file === '') !== (central.key_file === '')) {
    issues.push({
      path: central.cert_file === '' ? 'central.cert_file' : 'central.key_file',
      message: 'a client certificate needs both cert_file and key_file',
    });
  }
  issues.push(...syncIssues(central));
  if (!central.enabled) return issues;
  if (central.url === '') {
    issues.push({
      path: 'central.url',
      message: 'required when central.enabled is true: the broker, e.g. mqtt://central.example.com:1883',
    });
    return issues;
  }
  const problem = brokerUrlProblem(central.url);
  if (problem) issues.push({ path: 'central.url', message: problem });
  return issues;
}

/** Bulk sync's settings that no one key's schema can check. */
function syncIssues(central: CentralSettings): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  if (central.sync.enabled && !central.enabled)
    issues.push({
      path: 'central.sync.enabled',
      message: 'bulk sync goes through the central link: set central.enabled: true (and central.url), or turn sync off',
    });
  if (central.sync.enabled && central.sync.kinds.length === 0)
    issues.push({
      path: 'central.sync.kinds',
      message: 'empty: nothing would be offered; list bag, table and/or events, or set central.sync.enabled: false',
    });
  central.upload_windows.forEach((w, i) => {
    if (w.start === w.end)
      issues.push({
        path: `central.upload_windows.${i}`,
        message: `start and end are both ${w.start}: a window of no time; drop it for uploads at any time`,
      });
  });
  return issues;
}

/** What is wrong with a broker URL, in words, or undefined. */
export function brokerUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `${JSON.stringify(redactUrl(url))} is not a URL: write it in full, e.g. mqtt://central.example.com:1883`;
  }
  if (!SCHEMES.has(parsed.protocol)) {
    return `expected an mqtt://, mqtts://, ws:// or wss:// URL, got ${JSON.stringify(redactUrl(url))}${/^[a-z0-9.-]+:\d/i.test(url) ? ` (did you mean "mqtt://${url}"?)` : ''}`;
  }
  if (parsed.hostname === '') return `${JSON.stringify(redactUrl(url))} names no host`;
  return undefined;
}
