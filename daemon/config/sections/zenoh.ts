import Type, { type Static } from 'typebox';
import { RosGlob } from '../../names/index.ts';
import { Section } from '../section.ts';
import { ServedAction, ServedService } from './served-service.ts';

/**
 * Config section of the Zenoh bridge (adapters/zenoh): the daemon joins a robot's graph through zenoh-ts and
 * a router's remote-api plugin (or zenoh-bridge-remote-api). Off by default: edge first, with no router the
 * daemon runs alone.
 */

const Globs = (description: string, defaults: string[] = []) =>
  Type.Array(RosGlob(), { default: defaults, description });
/** Bus query names (`ai/inference/vla/*`): the daemon's own, not ROS 2 names. */
const QueryGlobs = (description: string, defaults: string[] = []) =>
  Type.Array(Type.String({ minLength: 1 }), { default: defaults, description });
const Ms = (fallback: number, description: string, minimum = 1) =>
  Type.Integer({ minimum, maximum: 3_600_000, default: fallback, description });

const Priority = Type.Union(
  ['real_time', 'interactive_high', 'interactive_low', 'data_high', 'data', 'data_low', 'background'].map((p) =>
    Type.Literal(p),
  ),
  { description: 'Zenoh priority of the samples (real_time is highest).' },
);

export const ZenohTopicQos = Type.Object(
  {
    topic: RosGlob({ description: 'Topic glob this entry applies to (the first entry that matches wins).' }),
    priority: Type.Optional(Priority),
    express: Type.Optional(
      Type.Boolean({ description: 'Send at once, not batched with others (small urgent messages).' }),
    ),
    reliability: Type.Optional(Type.Union([Type.Literal('reliable'), Type.Literal('best_effort')])),
    durability: Type.Optional(Type.Union([Type.Literal('volatile'), Type.Literal('transient_local')])),
    depth: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
  },
  { additionalProperties: false },
);

export const ZenohService = ServedService;

export const ZenohConfig = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Join a Zenoh network. Off: no Zenoh link (nothing else changes).',
    }),
    endpoint: Type.String({
      pattern: '^wss?(://|/)[^/\\s]+',
      default: 'ws://127.0.0.1:10000',
      description:
        'The remote-api WebSocket of a Zenoh router (its remote_api plugin) or of zenoh-bridge-remote-api: ws://host:port.',
    }),
    mapping: Type.Union([Type.Literal('rmw_zenoh'), Type.Literal('ros2dds')], {
      default: 'rmw_zenoh',
      description:
        'Key expressions and liveliness tokens: rmw_zenoh (ROS 2 nodes running rmw_zenoh_cpp) or ros2dds (zenoh-bridge-ros2dds).',
    }),
    domain_id: Type.Integer({
      minimum: 0,
      maximum: 232,
      default: 0,
      description: 'ROS_DOMAIN_ID (rmw_zenoh keys start with it).',
    }),
    node_name: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      default: 'auraison_edge',
      description: "The daemon's node name in the graph.",
    }),
    namespace: Type.String({
      pattern: '^/([A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*)?$',
      default: '/',
      description:
        "rmw_zenoh: the node's namespace. ros2dds: the namespace of the zenoh-bridge-ros2dds the robot runs (its `namespace` setting), which prefixes every key.",
    }),
    second_link: Section(
      {
        enabled: Type.Boolean({
          default: false,
          description:
            'A second Zenoh link, of the other mapping, to its own router: the daemon then joins an rmw_zenoh graph and a zenoh-bridge-ros2dds one at once (relays). It bridges only what relays name.',
        }),
        endpoint: Type.String({
          pattern: '^wss?(://|/)[^/\\s]+',
          default: 'ws://127.0.0.1:10001',
          description: "The remote-api WebSocket of the second graph's router (or its zenoh-bridge-remote-api).",
        }),
        mapping: Type.Union([Type.Literal('rmw_zenoh'), Type.Literal('ros2dds')], {
          default: 'ros2dds',
          description: 'Its mapping: the other one than zenoh.mapping.',
        }),
        domain_id: Type.Integer({ minimum: 0, maximum: 232, default: 0, description: 'rmw_zenoh: its ROS_DOMAIN_ID.' }),
        namespace: Type.String({
          pattern: '^/([A-Za-z_][A-Za-z0-9_]*(/[A-Za-z_][A-Za-z0-9_]*)*)?$',
          default: '/',
          description: "As zenoh.namespace, for this link (ros2dds: the robot bridge's namespace).",
        }),
      },
      'The second Zenoh link (docs/joined-graphs.md); every other setting is taken from zenoh.',
    ),
    topics: Globs(
      "Topics of the graph bridged onto the bus as their publishers appear, and dropped when the last one goes (`/scan`, `/camera/**`). The recorder's topics are added when bridge_recorded is on.",
    ),
    bridge_recorded: Type.Boolean({
      default: true,
      description:
        'Also bridge graph topics the recorder records, while it is enabled (recorder.include, less recorder.exclude).',
    }),
    max_bridged_topics: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 256,
      description:
        "Graph topics bridged onto the bus at most (zenoh.topics and the recorder's together). Past it a new topic is not bridged, and is counted and logged (rate-limited) until one goes: a peer announcing thousands of topics under a recorded glob cannot make the daemon declare thousands of subscribers.",
    }),
    publish: Globs("Bus topics the daemon publishes to Zenoh as its own node's publishers (`/cmd_vel`)."),
    queries: QueryGlobs(
      'Bus queries served as Zenoh queryables under the same name, e.g. ai/inference/vla/* (a Python or C++ node then needs one `get`).',
      ['ai/inference/vla/*', 'ai/inference/llm/**'],
    ),
    services: Section(
      {
        call: Globs(
          'ROS 2 services of the graph the bus may call (call_service, `auraison-edge query`): each is served as a bus query of its name, with a JSON request and reply, while a server announces it.',
        ),
        serve: Type.Array(ZenohService, {
          default: [],
          description: 'Bus queries the daemon serves as ROS 2 services (rmw_zenoh mapping).',
        }),
        timeout_ms: Ms(5000, 'How long a service call over Zenoh, or a bus query serving one, may take.'),
      },
      'Services over Zenoh, both ways.',
    ),
    actions: Section(
      {
        call: Globs(
          'Action servers of the Zenoh graph the bus may use (call_action, `auraison-edge action send_goal`), by action name (`/navigate_to_pose`): each is served on the bus as the same action while a server announces it (docs/bridges.md).',
        ),
        serve: Type.Array(ServedAction, {
          default: [],
          description:
            "Bus actions (the sim's /navigate_to_pose, a policy's) served to the graph's action clients as rcl_action makes one (either mapping: under ros2dds with one AS token, as zenoh-bridge-ros2dds announces its own).",
        }),
        result_timeout_ms: Ms(
          3_600_000,
          "How long a goal's get_result may wait for its end. Behind zenoh-bridge-ros2dds, its queries_timeout for the action's get_result must be at least as long.",
        ),
      },
      'Actions over Zenoh.',
    ),
    topic_qos: Type.Array(ZenohTopicQos, {
      default: [],
      description:
        "Per-topic QoS toward Zenoh; the default takes the bus topic's reliability, durability and depth at priority data.",
    }),
    bulk_lane: Type.Boolean({
      default: true,
      description:
        'Topics at priority data_low or background go through a second WebSocket session, so their large samples never queue ahead of small ones in one socket (Zenoh priorities apply only past the bridge).',
    }),
    bulk_lane_thread: Type.Boolean({
      default: true,
      description:
        "The bulk session runs in a worker thread of its own: zenoh-ts encodes each put in one piece on the thread that calls it (about 10 ms for 5 MB), which on the daemon's event loop holds up every small topic and timer. The graph's bulk topics then come in on that thread as well, their bytes in shared memory the bus holds by reference. false: it shares the daemon's thread.",
    }),
    receive_lane: Type.Boolean({
      default: true,
      description:
        "The graph's topics come in through a session of their own that sends nothing while samples flow: a request or a put on a socket makes Linux delay its ACKs by 40 ms, and the remote-api bridge (Nagle on) holds every sample coming in until then.",
    }),
    queue_depth: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 100,
      description: 'Messages queued per topic toward Zenoh; past it the oldest are dropped and counted.',
    }),
    max_sample_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1 << 30,
      default: 16_711_680,
      description:
        'Largest sample the daemon puts to Zenoh. zenoh-bridge-remote-api and the remote_api plugin (1.10) close the WebSocket on a frame over 16 MiB, taking the session and every topic with it: a larger sample is not sent, and is counted (oversize) and logged. The default leaves 64 KiB under 16 MiB for the key and attachment.',
    }),
    max_inbound_sample_bytes: Type.Integer({
      minimum: 1024,
      maximum: 1 << 30,
      default: 104_857_600,
      description:
        "Largest sample the daemon takes from Zenoh onto the bus: a larger one is dropped, counted per topic (inbound oversize) and logged, and the session stays. The daemon's WebSocket reads messages up to 1 GiB (Zenoh's own largest); the default is the 100 MiB the WebSocket took before, when a larger sample closed the session.",
    }),
    validate_max_bytes: Type.Integer({
      minimum: 0,
      maximum: 1 << 30,
      default: 65_536,
      description:
        'Samples from Zenoh up to this size are decoded once against their type (a wrong type or garbage is dropped and counted); larger ones, and unknown types, have their CDR header checked only. 0: header only.',
    }),
    open_timeout_ms: Ms(5000, 'A session that is not open by then is given up and tried again.'),
    response_timeout_ms: Ms(3000, 'How long a request to the bridge (a declaration, a keepalive) may take.'),
    keepalive_ms: Ms(1000, 'How often the link asks the bridge whether it is alive.', 50),
    reconnect_min_ms: Ms(250, 'First wait before reconnecting; doubles per failed try, with jitter.', 10),
    reconnect_max_ms: Ms(10_000, 'Longest wait between tries.', 10),
    history_settle_ms: Ms(
      2000,
      'After a reconnect, graph entries not announced again within this time are taken as gone.',
      10,
    ),
    query_timeout_ms: Ms(10_000, 'Longest time a Zenoh query served from the bus may take.'),
  },
  "The Zenoh bridge: the daemon as a node of the robot's graph (rmw_zenoh or zenoh-bridge-ros2dds), through a remote-api WebSocket.",
);

export const ZENOH_SECTIONS = { zenoh: ZenohConfig } satisfies Type.TProperties;

export type ZenohSettings = Static<typeof ZenohConfig>;
export type ZenohTopicQosSettings = Static<typeof ZenohTopicQos>;
