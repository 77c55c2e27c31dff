import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import {
  brokerUrlProblem,
  ConfigError,
  interpolateEnv,
  readConfigYaml,
  restoreTemplates,
  type ConfigIssue,
} from 'auraison-edge/config';
import { errorText, formatPath, Validator, type ValidationIssue } from 'auraison-edge/util';
import { isLoopback } from './http-guard.ts';
import { compileStatusUrlPatterns } from './status-links.ts';

/**
 * `central.yaml`, the config of `auraison-edge central serve` (README.md here, "central serve"): its own
 * file, read and checked as the daemon's is (unknown keys refused with a did-you-mean, every problem named by
 * its key path and line, `${ENV}` for secrets).
 */

const Section = <T extends Type.TProperties>(properties: T, description: string) =>
  Type.Object(properties, { additionalProperties: false, default: {}, description });

/** Fleet and robot ids, as the daemon's config has them: one topic level, no wildcard. */
const Id = (fallback: string, description: string) =>
  Type.String({ pattern: '^[A-Za-z0-9_.-]+$', minLength: 1, maxLength: 128, default: fallback, description });
/** `HH:MM` on a 24 h clock. */
const ClockTime = Type.String({ pattern: '^([01][0-9]|2[0-3]):[0-5][0-9]$' });

export const MqttSection = Section(
  {
    url: Type.String({ default: '', description: 'The MQTT 5 broker: mqtt://, mqtts://, ws://, wss://.' }),
    username: Type.String({ default: '' }),
    password: Type.String({ default: '', description: 'Use ${AURAISON_CENTRAL_PASSWORD}.' }),
    ca_file: Type.String({ default: '', description: "PEM CA bundle that signed the broker's certificate." }),
    cert_file: Type.String({ default: '', description: 'PEM client certificate (with key_file).' }),
    key_file: Type.String({ default: '', description: 'PEM private key of cert_file.' }),
    client_id: Type.String({
      maxLength: 128,
      default: '',
      description:
        'MQTT client id; empty: auraison-central-<fleet>-<host name>. It names the persistent session: keep it stable per process, and give each process its own.',
    }),
    topic_prefix: Type.String({
      pattern: '^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$',
      default: 'auraison',
      description: "The robots' central.topic_prefix.",
    }),
    fleet: Id('default', "The robots' robot.fleet."),
    share_group: Id(
      'auraison-central',
      'The MQTT 5 shared subscription group of events, acks and uploads: processes with one group split those messages.',
    ),
    session_expiry_s: Type.Integer({
      minimum: 0,
      maximum: 4_294_967_295,
      default: 0,
      description:
        "How long the broker keeps this process's session while it is away. 0: a killed process's share of the shared subscription goes to the others at once; events in flight to it are asked again (events.resend).",
    }),
    keepalive_s: Type.Integer({ minimum: 1, maximum: 65_535, default: 30 }),
    receive_maximum: Type.Integer({
      minimum: 1,
      maximum: 65_535,
      default: 10_000,
      description:
        "Messages the broker may send this process before their PUBACKs (held until committed): it must cover the fleet's messages a second times a commit's time, or the broker's queue (central acl's conf: 1000) overflows and the robots are asked again. Central holds up to this many payloads in memory.",
    }),
    command_key: Type.String({
      default: '',
      description:
        "Central's Ed25519 private key (PEM; `auraison-edge central keygen --out FILE` makes one and prints the public key robots pin in central.command_keys): grants, stored, pause and resend requests, and `central intent` and `central config push`, are signed with it. Empty: commands go unsigned (a warning), and robots that pin a key refuse them.",
    }),
  },
  'The broker the robots speak to.',
);

export const LakehouseSection = Section(
  {
    catalog: Type.String({
      minLength: 1,
      default: 'fleet.ducklake',
      description:
        "The DuckLake catalog: postgres:<libpq conninfo> (several serve processes; its password, password=${PGPASSWORD} or a URI's, is kept in a DuckDB secret, never shown), or a DuckDB file path (one process).",
    }),
    data_path: Type.String({
      minLength: 1,
      default: 'fleet-data/',
      description:
        "Where DuckLake writes its parquet: s3://bucket/prefix/ (with the storage section's keys), or a dir.",
    }),
    extension_directory: Type.String({
      default: '',
      description:
        "Offline: a dir of <name>.duckdb_extension files (ducklake, postgres_scanner, httpfs) loaded by path; empty: INSTALL and LOAD from DuckDB's repository.",
    }),
    commit_ms: Type.Integer({
      minimum: 1,
      maximum: 60_000,
      default: 200,
      description: 'Events are committed in one transaction at least this often while they come.',
    }),
    commit_rows: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 5000,
      description: 'A commit starts early once this many events wait.',
    }),
    maintenance_s: Type.Integer({
      minimum: 0,
      maximum: 86_400,
      default: 600,
      description:
        "How often this process merges the small parquet files events commits leave, expires old snapshots and deletes the files they alone used (at a random phase per process). 0: never (run DuckLake's ducklake_merge_adjacent_files by hand).",
    }),
    snapshot_keep_s: Type.Integer({
      minimum: 60,
      maximum: 31_536_000,
      default: 3600,
      description:
        'Snapshots (time travel) older than this are expired by the upkeep; keep it longer than the longest fleet query.',
    }),
  },
  'The fleet lakehouse (DuckLake).',
);

export const EventsSection = Section(
  {
    resend: Type.Boolean({
      default: true,
      description:
        'Ask a robot to send again the events its heartbeat says the broker took but the lake lacks (a process killed with messages in flight).',
    }),
    resend_after_s: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 15,
      description:
        'A heartbeat this old is trusted (what was in flight then has landed); a range is not asked again sooner.',
    }),
  },
  'Events from the robots: gap recovery.',
);

export const StorageSection = Section(
  {
    endpoint: Type.String({ default: '', description: 'S3-compatible endpoint, http(s)://host:port; empty: AWS.' }),
    region: Type.String({ default: 'us-east-1' }),
    bucket: Type.String({ default: '', description: 'The bucket uploads go to; empty: no uploads (all not_wanted).' }),
    access_key_id: Type.String({ default: '' }),
    secret_access_key: Type.String({ default: '', description: 'Use ${AURAISON_STORAGE_SECRET}.' }),
    force_path_style: Type.Boolean({ default: true, description: 'Path-style URLs (MinIO, most S3-compatible).' }),
    url_ttl_s: Type.Integer({ minimum: 60, maximum: 7 * 24 * 3600, default: 3600 }),
    multipart_threshold_bytes: Type.Integer({ minimum: 5 * 1024 * 1024, default: 64 * 1024 * 1024 }),
    part_size_bytes: Type.Integer({ minimum: 5 * 1024 * 1024, maximum: 5 * 1024 ** 3, default: 16 * 1024 * 1024 }),
    prefix: Type.String({
      default: '',
      description: 'Object keys are <prefix><fleet>/<robot>/<kind>/<path>.',
    }),
  },
  'Object storage for uploads (presigned URLs).',
);

export const PolicySection = Section(
  {
    kinds: Type.Array(Type.Union([Type.Literal('bag'), Type.Literal('table'), Type.Literal('events')]), {
      default: ['bag', 'table', 'events'],
      description: 'Kinds of files wanted; others are answered not_wanted.',
    }),
    bag_topics: Type.Array(Type.String(), {
      default: [],
      description: 'Bags wanted only when they hold one of these topics; empty: every bag.',
    }),
    max_file_bytes: Type.Integer({
      minimum: 0,
      default: 0,
      description: 'Files larger than this are not wanted; 0: no limit.',
    }),
    windows: Type.Array(Type.Object({ start: ClockTime, end: ClockTime }, { additionalProperties: false }), {
      default: [],
      description:
        'Times of day (UTC, HH:MM) when grants are given; outside them offers are answered later. Empty: always. A window may pass midnight (22:00 to 06:00).',
    }),
    later_s: Type.Integer({ minimum: 1, maximum: 86_400, default: 300, description: 'retry_after_s of a later.' }),
  },
  'Which offered files central grants.',
);

export const HttpSection = Section(
  {
    enabled: Type.Boolean({ default: true }),
    host: Type.String({ default: '127.0.0.1' }),
    port: Type.Integer({ minimum: 0, maximum: 65_535, default: 8790 }),
    token: Type.String({
      default: '',
      description:
        'The API token (Authorization: Bearer, or the page opened once at /?token=...). Use ${AURAISON_CENTRAL_TOKEN}. Required when host is not loopback; empty on loopback: no token.',
    }),
    allowed_hosts: Type.Array(Type.String({ pattern: '^[A-Za-z0-9_.:\\[\\]-]+$' }), {
      default: [],
      description:
        'Host names the API answers to besides its own address, localhost and 127.0.0.1/::1 (DNS rebinding): the name operators browse to.',
    }),
    allowed_status_urls: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
      default: [],
      description:
        "Regular expressions, each matching a whole URL: a robot's status_url that matches one is a link on the fleet page, any other is shown as text (robots name their own URL). Empty: none is a link.",
    }),
  },
  'The fleet page and its API.',
);

export const FleetQuerySection = Section(
  {
    timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 30,
      description: 'A fleet query still running after this is interrupted and answered with an error.',
    }),
    max_rows: Type.Integer({
      minimum: 1,
      maximum: 1_000_000,
      default: 10_000,
      description: 'Rows a fleet query answers with at most; past them the answer says truncated.',
    }),
    max_bytes: Type.Integer({
      minimum: 1024,
      maximum: 256 * 1024 * 1024,
      default: 32 * 1024 * 1024,
      description:
        "The most text (strings' characters) a fleet query answers with; the rows past it are cut, and the answer says truncated_by max_bytes.",
    }),
    memory_limit: Type.String({
      pattern: '^[0-9]+(\\.[0-9]+)? ?(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$',
      default: '2GB',
      description:
        "DuckDB's memory_limit of the query's DuckDB (with the catalog in a DuckDB file, central's one DuckDB).",
    }),
    threads: Type.Integer({ minimum: 1, maximum: 256, default: 2, description: "DuckDB's threads, as memory_limit." }),
    concurrent: Type.Integer({
      minimum: 1,
      maximum: 64,
      default: 2,
      description: 'Fleet queries run at once; more are answered busy (503).',
    }),
    s3_access_key_id: Type.String({
      default: '',
      description:
        "A storage key that can only read the bucket and the lake's data: the fleet query's DuckDB reads with it. Empty: storage's keys (a warning at start); required when http.host is beyond loopback and the data or uploads are on S3.",
    }),
    s3_secret_access_key: Type.String({ default: '', description: 'Use ${AURAISON_QUERY_S3_SECRET}.' }),
  },
  "The fleet query's limits (POST /api/query, central query).",
);

export const CentralServeConfigSchema = Type.Object(
  {
    mqtt: MqttSection,
    lakehouse: LakehouseSection,
    events: EventsSection,
    storage: StorageSection,
    policy: PolicySection,
    http: HttpSection,
    fleet_query: FleetQuerySection,
  },
  { additionalProperties: false },
);
export type CentralServeConfig = Static<typeof CentralServeConfigSchema>;

const validator = new Validator(CentralServeConfigSchema);

/**
 * Reads, interpolates `${ENV}` and validates central.yaml. Throws ConfigError naming every problem. With
 * `sections`, a command that reads only those (`central acl`: mqtt) is not refused for a secret elsewhere
 * that this shell does not set: its `${VAR}` stays as written.
 */
export function loadCentralServeConfig(
  path: string,
  env: NodeJS.ProcessEnv = process.env,
  sections?: readonly string[],
): CentralServeConfig {
  const file = isAbsolute(path) ? path : resolve(path);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const message = code === 'ENOENT' ? `no such file (${file})` : `cannot read ${file}: ${errorText(error)}`;
    throw new ConfigError(basename(file), [{ path: '', message }]);
  }
  const { config, issues } = checkCentralServeText(text, env, sections);
  if (!config) throw new ConfigError(basename(file), issues);
  return config;
}

/** Parses and checks central.yaml text: the config, or every problem with it. */
export function checkCentralServeText(
  text: string,
  env: NodeJS.ProcessEnv = process.env,
  sections?: readonly string[],
): { config: CentralServeConfig | undefined; issues: ConfigIssue[] } {
  const read = readConfigYaml(text);
  if (!('raw' in read)) return { config: undefined, issues: read.issues };
  const { value, problems, templates } = interpolateEnv(read.raw, env);
  const needed = (path: string[]) => sections === undefined || sections.includes(path[0] ?? '');
  const envIssues = problems
    .filter((p) => needed(p.path))
    .map((p) => ({ path: formatPath(p.path), message: p.message }));
  const unset = new Set(problems.map((p) => formatPath(p.path)));
  const withDefaults = Value.Default(CentralServeConfigSchema, structuredClone(value));
  const schemaIssues = validator
    .issues(withDefaults, restoreTemplates(withDefaults, templates))
    .filter((i) => !unset.has(i.path));
  const crossIssues = schemaIssues.length === 0 ? crossChecks(withDefaults as CentralServeConfig) : [];
  const issues = read.place([...envIssues, ...schemaIssues, ...crossIssues.filter((i) => !unset.has(i.path))]);
  return { config: issues.length === 0 ? (withDefaults as CentralServeConfig) : undefined, issues };
}

function crossChecks(config: CentralServeConfig): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const { mqtt, lakehouse, storage } = config;
  if (mqtt.url === '') issues.push({ path: 'mqtt.url', message: 'central serve needs a broker: set mqtt.url' });
  else {
    const problem = brokerUrlProblem(mqtt.url);
    if (problem) issues.push({ path: 'mqtt.url', message: problem });
  }
  if (lakehouse.data_path.startsWith('s3://')) {
    if (!/^s3:\/\/[^/]+\/(.*\/)?$/.test(lakehouse.data_path))
      issues.push({ path: 'lakehouse.data_path', message: 'an S3 data path is s3://bucket/prefix/ (ending in /)' });
    if (storage.access_key_id === '' || storage.secret_access_key === '')
      issues.push({
        path: 'storage.access_key_id',
        message: 'lakehouse.data_path is on S3: set storage.access_key_id and storage.secret_access_key',
      });
  } else if (/^[a-z0-9]+:\/\//i.test(lakehouse.data_path))
    issues.push({ path: 'lakehouse.data_path', message: 'expected s3://bucket/prefix/ or a local dir' });
  if (lakehouse.catalog.startsWith('postgres:') && lakehouse.catalog.length === 'postgres:'.length)
    issues.push({ path: 'lakehouse.catalog', message: 'postgres: needs a conninfo (postgres:host=... dbname=...)' });
  const { fleet_query, http } = config;
  // Beyond loopback anyone with the token runs SQL: storage's key can delete and overwrite what the lake reads.
  const onS3 = lakehouse.data_path.startsWith('s3://') || storage.bucket !== '';
  if (onS3 && fleet_query.s3_access_key_id === '' && http.enabled && !isLoopback(http.host))
    issues.push({
      path: 'fleet_query.s3_access_key_id',
      message: `required when http.host (${http.host}) is beyond loopback and the lake or the uploads are on S3: without it the fleet query reads the bucket with storage's key, which can write and delete; give it a key that can only read the bucket (docs/central.md, "The fleet query"), or bind http.host 127.0.0.1`,
    });
  if ((fleet_query.s3_access_key_id === '') !== (fleet_query.s3_secret_access_key === ''))
    issues.push({
      path: 'fleet_query.s3_secret_access_key',
      message: 'give fleet_query.s3_access_key_id and s3_secret_access_key together, or neither',
    });
  const patterns = compileStatusUrlPatterns(config.http.allowed_status_urls);
  if (!Array.isArray(patterns))
    issues.push({
      path: `http.allowed_status_urls.${patterns.index}`,
      message: `not a regular expression: ${patterns.error}`,
    });
  if (storage.endpoint !== '' && !/^https?:\/\/[^/]+\/?$/.test(storage.endpoint))
    issues.push({ path: 'storage.endpoint', message: 'expected http(s)://host[:port]' });
  if (storage.part_size_bytes > storage.multipart_threshold_bytes)
    issues.push({
      path: 'storage.part_size_bytes',
      message: `${storage.part_size_bytes} is over storage.multipart_threshold_bytes (${storage.multipart_threshold_bytes})`,
    });
  return issues;
}
