import Type, { type Static } from 'typebox';
import { NAME_KEYS_KEYWORD, RosGlob } from '../../names/index.ts';
import { Section } from '../section.ts';
import { ServedAction, ServedService } from './served-service.ts';

/**
 * Config section of the ROS 2 bridge (adapters/ros, through rclnodejs). Off by default: rclnodejs is an
 * optional dependency that installs only where ROS 2 is sourced.
 */

const Globs = (description: string) => Type.Array(RosGlob(), { default: [], description });

const Reliability = Type.Union([Type.Literal('auto'), Type.Literal('reliable'), Type.Literal('best_effort')], {
  default: 'auto',
  description: "auto: as the topic's publishers offer it (best_effort if any of them is), as ros2 bag record does.",
});
const Durability = Type.Union([Type.Literal('auto'), Type.Literal('volatile'), Type.Literal('transient_local')], {
  default: 'auto',
  description: 'auto: transient_local when every publisher of the topic offers it (/tf_static, /map), else volatile.',
});

export const RosQosConfig = Section(
  {
    reliability: Reliability,
    durability: Durability,
    depth: Type.Integer({ minimum: 1, maximum: 10_000, default: 10, description: 'History depth (KEEP_LAST).' }),
  },
  "QoS of the daemon's subscriptions and publishers.",
);

export const RosServeConfig = ServedService;

export const RosConfig = Section(
  {
    enabled: Type.Boolean({
      default: false,
      description: 'Join the ROS 2 graph through rclnodejs (installed and ROS 2 sourced).',
    }),
    rclnodejs: Type.String({
      default: '',
      description:
        "The folder rclnodejs is installed under (its node_modules/rclnodejs: `npm install --prefix <folder> rclnodejs@2.2.0` with ROS 2 sourced), relative paths from the daemon's working directory; empty: the daemon's own node_modules.",
    }),
    node_name: Type.String({
      pattern: '^[A-Za-z_][A-Za-z0-9_]*$',
      default: 'auraison_edge',
      description: "The daemon's node name.",
    }),
    namespace: Type.String({
      pattern: '^(/|(/[A-Za-z_][A-Za-z0-9_]*)+)$',
      default: '/',
      description: 'Its namespace, e.g. /robot1; / is the root.',
    }),
    topics: Globs('ROS topics bridged onto the bus as they appear (`*` within a name segment, `**` across them).'),
    bridge_recorded: Type.Boolean({
      default: true,
      description: 'Also bridge the topics the recorder (while enabled) or its snapshot (while enabled) selects.',
    }),
    exclude: Globs('ROS topics never bridged onto the bus, even when selected.'),
    publish: Globs('Bus topics the daemon publishes to ROS 2 (e.g. /cmd_vel); what came from ROS is never sent back.'),
    qos: RosQosConfig,
    topic_qos: Type.Record(
      Type.String({ minLength: 1 }),
      Type.Partial(
        Type.Object(
          {
            reliability: Type.Union([Type.Literal('reliable'), Type.Literal('best_effort')]),
            durability: Type.Union([Type.Literal('volatile'), Type.Literal('transient_local')]),
            depth: Type.Integer({ minimum: 1, maximum: 10_000 }),
          },
          { additionalProperties: false },
        ),
      ),
      { default: {}, description: 'QoS for one topic, over `qos`.', [NAME_KEYS_KEYWORD]: true },
    ),
    services: Section(
      {
        call: Globs(
          'ROS services the bus may call (call_service, `auraison-edge query`): each is served as a bus query of its name, with a JSON request and reply, while a ROS node serves it.',
        ),
        serve: Type.Array(RosServeConfig, {
          default: [],
          description: 'Bus queries the daemon serves as ROS 2 services.',
        }),
        timeout_ms: Type.Integer({
          minimum: 1,
          maximum: 600_000,
          default: 5000,
          description: 'How long a ROS client of a served query waits for the bus query.',
        }),
      },
      'Services, both ways.',
    ),
    actions: Section(
      {
        call: Globs(
          "ROS action servers the bus may use (call_action, `auraison-edge action send_goal`): each is served on the bus as the same action while a ROS node serves it; rclnodejs's ActionClient carries its goals.",
        ),
        serve: Type.Array(ServedAction, {
          default: [],
          description: "Bus actions served to ROS with rclnodejs's ActionServer.",
        }),
      },
      'Actions, both ways (docs/actions.md).',
    ),
    graph_poll_ms: Type.Integer({
      minimum: 50,
      maximum: 60_000,
      default: 1000,
      description: 'How often the ROS graph (nodes, topics, services) is read.',
    }),
  },
  "The ROS 2 bridge (rclnodejs): the daemon as a node of the robot's graph.",
);

export const ROS_SECTIONS = { ros: RosConfig } satisfies Type.TProperties;

export type RosSettings = Static<typeof RosConfig>;
