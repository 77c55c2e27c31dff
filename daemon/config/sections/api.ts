import Type, { type Static } from 'typebox';
import type { ValidationIssue } from '../../util/index.ts';
import { isLoopbackHost } from '../../util/index.ts';
import { RosGlob } from '../../names/index.ts';
import { Section } from '../section.ts';

/** The web apps that speak the Foxglove protocol, and pages served from this machine (a self-hosted Lichtblick). */
const DEFAULT_ALLOWED_ORIGINS = [
  'https://app.foxglove.dev',
  'https://studio.foxglove.dev',
  'http://localhost:*',
  'http://127.0.0.1:*',
  'http://[::1]:*',
];

const Port = (fallback: number, description: string) =>
  Type.Integer({ minimum: 0, maximum: 65535, default: fallback, description });

export const ApiConfig = Section(
  {
    enabled: Type.Boolean({ default: true, description: 'Serve the local HTTP API and the status page.' }),
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address to bind. Anything but a loopback address requires api.token.',
    }),
    port: Port(7400, 'TCP port; 0 picks a free one (written to <data_dir>/run/api.json for the CLI).'),
    token: Type.String({
      default: '',
      description:
        'Bearer token every route but /healthz and /readyz requires when set; mandatory off loopback. Use ${AURAISON_EDGE_API_TOKEN}.',
    }),
    body_limit_bytes: Type.Integer({
      minimum: 1024,
      maximum: 64 * 1024 * 1024,
      default: 1024 * 1024,
      description: 'Largest request body; larger ones get 413.',
    }),
    request_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 30,
      description:
        'A request (its headers and body) must have arrived within this many seconds of its first byte; a slower one gets 408 and its connection is closed. Raise it with body_limit_bytes for big bodies on slow links. An event stream, once its request has arrived, is not cut.',
    }),
    keep_alive_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 3600,
      default: 72,
      description: 'An idle keep-alive connection (between requests) is closed after this long.',
    }),
    query: Section(
      {
        timeout_ms: Type.Integer({
          minimum: 1,
          maximum: 600_000,
          default: 10_000,
          description: 'Longest a POST /query may run (a request may ask for less).',
        }),
        max_rows: Type.Integer({
          minimum: 1,
          maximum: 1_000_000,
          default: 10_000,
          description: 'Most rows a POST /query returns (the rest is cut, truncated: true).',
        }),
        max_bytes: Type.Integer({
          minimum: 1024,
          maximum: 256 * 1024 * 1024,
          default: 16 * 1024 * 1024,
          description:
            'Most bytes the rows of a POST /query reply may take as JSON (the rest is cut, truncated: true, truncated_by: max_bytes).',
        }),
      },
      'POST /query: read-only SQL on the lakehouse.',
    ),
    inference: Section(
      {
        timeout_ms: Type.Integer({
          minimum: 1,
          maximum: 600_000,
          default: 30_000,
          description: 'Longest wait for a reply of POST /inference/... (a request may ask for less).',
        }),
      },
      'POST /inference/vla/:policy and /inference/llm/:model: bus queries over HTTP.',
    ),
    events: Section(
      {
        max_buffered_bytes: Type.Integer({
          minimum: 4096,
          default: 1024 * 1024,
          description: 'Bytes an SSE client may have unread before the daemon stops writing to it.',
        }),
        max_lag: Type.Integer({
          minimum: 10,
          default: 10_000,
          description:
            'Records an SSE client may fall behind (or ask to replay) before it is skipped ahead with a `gap` event.',
        }),
        stall_timeout_s: Type.Number({
          exclusiveMinimum: 0,
          default: 30,
          description: 'An SSE client that reads nothing for this long while its buffer is full is cut off.',
        }),
        max_clients: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 64,
          description:
            'SSE clients of GET /events connected at once; one more gets 503 with Retry-After. Each may hold max_buffered_bytes.',
        }),
        max_replays: Type.Integer({
          minimum: 1,
          maximum: 1000,
          default: 4,
          description:
            'SSE clients replaying older journal records (a Last-Event-ID behind the recent ones) at once; one more gets 503 with Retry-After.',
        }),
        heartbeat_s: Type.Number({
          exclusiveMinimum: 0,
          default: 5,
          description:
            'A `: ping` comment line goes to every SSE client (GET /events, /live/map) this often, so proxies keep the stream open and a client can tell a live link from a dead one: the status page calls a stream silent for 3 heartbeats stale, and reconnects.',
        }),
      },
      'GET /events: Server-Sent Events from the durable journal.',
    ),
    ready: Section(
      {
        min_free_bytes: Type.Integer({
          minimum: 0,
          default: 512 * 1024 * 1024,
          description: 'Free space the data dir needs for /readyz to pass its disk check.',
        }),
      },
      'GET /readyz checks.',
    ),
  },
  'The local HTTP API (fastify): health, readiness, status, metrics, intents, runs, events, query, inference, status page.',
);

export const FoxgloveConfig = Section(
  {
    enabled: Type.Boolean({
      default: true,
      description: 'Serve the Foxglove WebSocket protocol (live view in Foxglove or Lichtblick).',
    }),
    host: Type.String({
      minLength: 1,
      default: '127.0.0.1',
      description: 'Address to bind. The protocol has no authentication: off loopback needs allow_remote.',
    }),
    port: Port(8765, "TCP port (8765 is Foxglove's default); 0 picks a free one."),
    allow_remote: Type.Boolean({
      default: false,
      description: 'Allow binding a non-loopback address (anyone who can reach it sees every advertised topic).',
    }),
    allowed_origins: Type.Array(Type.String({ minLength: 1 }), {
      default: DEFAULT_ALLOWED_ORIGINS,
      description:
        'Browser origins (web pages) allowed to connect: exact (https://app.foxglove.dev), any port (http://localhost:*), null, file://, or * for any. Clients that send no Origin (scripts) and desktop apps (the Foxglove and Lichtblick apps send Origin null from an Electron User-Agent) are always allowed; other web pages, and browser pages with Origin null (a page opened from a file, a sandboxed iframe), are refused with 403, so a page open in a browser cannot read topics or drive the robot.',
    }),
    topics: Section(
      {
        include: Type.Array(Type.String({ minLength: 1 }), {
          default: ['/**'],
          description: 'Topic globs advertised to clients.',
        }),
        exclude: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description: 'Topic globs never advertised.',
        }),
      },
      'Which bus topics are advertised.',
    ),
    max_buffered_bytes: Type.Integer({
      minimum: 4096,
      default: 4 * 1024 * 1024,
      description: 'Bytes a client may have unsent before its messages are dropped (counted).',
    }),
    max_message_bytes: Type.Integer({
      minimum: 4096,
      maximum: 256 * 1024 * 1024,
      default: 1024 * 1024,
      description: 'Largest WebSocket message a client may send; a larger one closes its connection (1009).',
    }),
    max_clients: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 16,
      description:
        'Clients connected at once; one more is told why in a status message and closed (1013, try again later). Each client that watches /scan or /map costs the robot memory and CPU.',
    }),
    max_pending_per_ip: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 8,
      description:
        'Connections from one address whose WebSocket handshake (the HTTP upgrade request) has not arrived whole yet; one more from that address is closed at once (counted as refused_clients_total{reason="pending_per_ip"}), so a peer that opens connections and never finishes them (slowloris) cannot use up the daemon\'s sockets. Other addresses are not affected.',
    }),
    handshake_timeout_ms: Type.Integer({
      minimum: 100,
      maximum: 300_000,
      default: 5000,
      description:
        'Time a connection has to send its whole WebSocket handshake from when it opens; a slower one (or one that sends nothing) gets 408 and is closed (counted as refused_clients_total{reason="handshake_timeout"}).',
    }),
    client_publish: Section(
      {
        enabled: Type.Boolean({
          default: false,
          description: 'Let clients publish (e.g. /cmd_vel from a teleop panel), through the policy hooks.',
        }),
        topics: Type.Array(RosGlob(), {
          default: ['/cmd_vel'],
          description: 'Topic globs clients may publish on.',
        }),
        max_pending: Type.Integer({
          minimum: 1,
          maximum: 100_000,
          default: 32,
          description:
            'Messages one client may have waiting for the policy hooks; more are dropped (counted as client_publish_total{outcome="dropped"}).',
        }),
        max_channels: Type.Integer({
          minimum: 1,
          maximum: 10_000,
          default: 16,
          description: 'Channels one client may have advertised at once; more are refused.',
        }),
        max_rate_hz: Type.Number({
          minimum: 1,
          maximum: 100_000,
          default: 200,
          description:
            'Messages a second one client may publish (a 50 Hz teleop panel is well within); more are refused with a status. A stop (zero Twist) always goes through.',
        }),
        stop_after_ms: Type.Integer({
          minimum: 100,
          maximum: 60_000,
          default: 2000,
          description:
            "A client's Twist command that moves the robot is followed by a stop (zero Twist) after this long without another command, and at once when the client leaves or unadvertises. A teleop panel must publish more often than this while a button is held.",
        }),
      },
      'Publishing from Foxglove clients onto the bus.',
    ),
  },
  'The Foxglove WebSocket protocol server: bus topics with ros2msg schemas, streamed as CDR.',
);

/**
 * Config sections of issue 6: api (HTTP), foxglove.
 */
export const API_SECTIONS = { api: ApiConfig, foxglove: FoxgloveConfig } satisfies Type.TProperties;

/**
 * The servers bound off loopback without what makes that safe: the API without api.token, the Foxglove
 * bridge (no authentication at all) without allow_remote. `config check`, a reload and `run` refuse them
 * with these issues, and each server refuses to start with the same words.
 */
export function exposureIssues(config: {
  api: Pick<ApiSettings, 'enabled' | 'host' | 'token'>;
  foxglove: Pick<FoxgloveSettings, 'enabled' | 'host' | 'allow_remote'>;
}): ValidationIssue[] {
  const { api, foxglove } = config;
  const issues: ValidationIssue[] = [];
  if (api.enabled) issues.push(...apiExposure(api));
  if (foxglove.enabled) issues.push(...foxgloveExposure(foxglove));
  return issues;
}

export function apiExposure({ host, token }: Pick<ApiSettings, 'host' | 'token'>): ValidationIssue[] {
  if (isLoopbackHost(host) || token !== '') return [];
  return [
    {
      path: 'api.host',
      message: `${host} is not a loopback address: set api.token (e.g. token: \${AURAISON_EDGE_API_TOKEN}) or bind 127.0.0.1`,
    },
  ];
}

export function foxgloveExposure({
  host,
  allow_remote,
}: Pick<FoxgloveSettings, 'host' | 'allow_remote'>): ValidationIssue[] {
  if (isLoopbackHost(host) || allow_remote) return [];
  return [
    {
      path: 'foxglove.host',
      message: `${host} is not a loopback address: the Foxglove protocol has no authentication, so binding off loopback needs foxglove.allow_remote: true`,
    },
  ];
}

export type ApiSettings = Static<typeof ApiConfig>;
export type FoxgloveSettings = Static<typeof FoxgloveConfig>;
