import Type, { type Static } from 'typebox';
import { Section } from './section.ts';
import { API_SECTIONS } from './sections/api.ts';
import { BAGS_SECTIONS } from './sections/bags.ts';
import { CENTRAL_SECTIONS } from './sections/central.ts';
import { MCP_SECTIONS } from './sections/mcp.ts';
import { MOTION_SECTIONS } from './sections/motion.ts';
import { RELAYS_SECTIONS } from './sections/relays.ts';
import { ROS_SECTIONS } from './sections/ros.ts';
import { SYSTEM1_SECTIONS } from './sections/system1.ts';
import { SYSTEM2_SECTIONS } from './sections/system2.ts';
import { ZENOH_SECTIONS } from './sections/zenoh.ts';

/**
 * The daemon's configuration: one YAML file, validated against this schema. Every key has a default, so an
 * empty file (or no file) is a valid config. Each part that has settings owns one section; edge.example.yaml
 * documents every key.
 */

export const RobotConfig = Section(
  {
    id: Type.String({
      minLength: 1,
      pattern: '^[A-Za-z0-9_.-]+$',
      default: 'sim-robot',
      description: 'Robot id: MQTT topics, lakehouse partitions.',
    }),
    fleet: Type.String({
      minLength: 1,
      pattern: '^[A-Za-z0-9_.-]+$',
      default: 'default',
      description: 'Fleet the robot belongs to.',
    }),
  },
  'Who this daemon is.',
);

export const LogConfig = Section(
  {
    level: Type.Union(
      [
        Type.Literal('trace'),
        Type.Literal('debug'),
        Type.Literal('info'),
        Type.Literal('warn'),
        Type.Literal('error'),
        Type.Literal('fatal'),
      ],
      { default: 'info' },
    ),
  },
  'Structured logs (pino): JSON lines on stderr, which journald keeps.',
);

export const BusConfig = Section(
  {
    definitions: Section(
      {
        distro: Type.Union(
          [Type.Literal('jazzy'), Type.Literal('iron'), Type.Literal('humble'), Type.Literal('none')],
          {
            default: 'jazzy',
            description: 'Built-in message definitions (@foxglove/rosmsg-msgs-common).',
          },
        ),
        dirs: Type.Array(Type.String({ minLength: 1 }), {
          default: [],
          description:
            'Directories of ROS 2 interface packages (<pkg>/msg/*.msg, <pkg>/srv/*.srv), e.g. /opt/ros/jazzy/share. They override the built-in set.',
        }),
      },
      'Where message definitions come from.',
    ),
  },
  'The internal bus.',
);

export const JournalConfig = Section(
  {
    fsync: Type.Union([Type.Literal('always'), Type.Literal('interval'), Type.Literal('never')], {
      default: 'always',
      description:
        'always: a record is fsynced before it is acknowledged (appends in flight share one fsync); interval: fsync every interval_ms; never: leave it to the OS (survives a crash of the daemon, not a power cut).',
    }),
    interval_ms: Type.Integer({ minimum: 1, maximum: 60_000, default: 100 }),
    segment_mb: Type.Integer({
      minimum: 1,
      maximum: 4096,
      default: 64,
      description: 'Size of one journal segment file.',
    }),
    retain_days: Type.Number({
      exclusiveMinimum: 0,
      default: 30,
      description:
        'Whole segments whose newest record is older than this are deleted, once the lakehouse has indexed them, no unfinished run needs them and the central link (if any) has sent them.',
    }),
    max_mb: Type.Integer({
      minimum: 1,
      default: 2048,
      description:
        'Past this size on disk, the oldest segments are deleted (same conditions, except that records the central link has not sent go too: the disk comes first).',
    }),
  },
  'The durable journal of runs and agent events (<data_dir>/log/).',
);

export const Pose2D = Type.Object(
  { x: Type.Number(), y: Type.Number(), yaw: Type.Optional(Type.Number({ default: 0, description: 'radians' })) },
  { additionalProperties: false },
);

/**
 * Sim seeds are integers in [0, MAX_SIM_SEED]: the sim's RNG keeps 32 bits and derives its noise streams
 * from 2 * seed + 1 and 2 * seed + 2, so larger (or negative) seeds would repeat the runs of smaller ones.
 */
export const MAX_SIM_SEED = 2 ** 31 - 1;
/** Slowest sim speed: 100 wall seconds per sim second is slow enough to step through a run by eye. */
export const MIN_SIM_SPEED = 0.01;

/**
 * `sim.camera`: the sim's first-person camera. Frames are rendered on the sim's loop and cross the bus whole, so the
 * size stops at 1920 x 1080 (about 20 ms a frame to render; the default 128 x 96 takes about 0.1 ms).
 */
export const SimCameraConfig = Type.Object(
  {
    enabled: Type.Boolean({
      default: true,
      description:
        'Publish a camera on the robot: sensor_msgs/msg/Image (rgb8) on /camera/image_raw and sensor_msgs/msg/CameraInfo on /camera/camera_info.',
    }),
    width: Type.Integer({ minimum: 1, maximum: 1920, default: 128, description: 'Image width in pixels, 1 to 1920.' }),
    height: Type.Integer({ minimum: 1, maximum: 1080, default: 96, description: 'Image height in pixels, 1 to 1080.' }),
    rate_hz: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 15,
      description:
        'Frames per second of sim time, a whole number up to the 100 Hz physics rate (a frame goes out on a physics step).',
    }),
    fov_deg: Type.Number({
      minimum: 10,
      maximum: 170,
      default: 60,
      description:
        'Horizontal field of view in degrees, 10 to 170; the vertical one follows from the size (square pixels).',
    }),
  },
  { additionalProperties: false, default: {}, description: "The sim's first-person camera." },
);

export const SimConfig = Section(
  {
    enabled: Type.Boolean({ default: false, description: 'Run the built-in simulator inside the daemon.' }),
    world: Type.Literal('turtlebot-maze', { default: 'turtlebot-maze' }),
    seed: Type.Integer({
      minimum: 0,
      maximum: MAX_SIM_SEED,
      default: 1,
      description: 'Seed of sensor noise: the same seed gives the same run.',
    }),
    maze_seed: Type.Integer({
      minimum: 0,
      maximum: MAX_SIM_SEED,
      default: 7,
      description: 'Seed of the maze layout; the default maze is seed 7.',
    }),
    speed: Type.Number({
      minimum: MIN_SIM_SPEED,
      default: 1,
      description: 'Sim seconds per wall second, at least 0.01. Large values run as fast as the CPU allows.',
    }),
    paused: Type.Boolean({
      default: false,
      description: "Start with the clock held at 0 until the bus query sim/unpause (like Gazebo's paused:=true).",
    }),
    named_poses: Type.Record(Type.String(), Pose2D, {
      default: {},
      description: "Named goal poses in the map frame (added to the world's own, e.g. charging_dock).",
    }),
    navigate_action: Type.Boolean({
      default: true,
      description: "Serve Nav2's navigate_to_pose action (nav2_msgs/action/NavigateToPose) as Nav2 would on the robot.",
    }),
    camera: SimCameraConfig,
  },
  'The built-in turtlebot-maze simulator.',
);

export const EdgeConfigSchema = Type.Object(
  {
    robot: RobotConfig,
    data_dir: Type.String({
      minLength: 1,
      default: './.auraison-edge',
      description: 'Where bags, logs and the lakehouse live (relative to the working directory).',
    }),
    log: LogConfig,
    bus: BusConfig,
    journal: JournalConfig,
    sim: SimConfig,
    ...BAGS_SECTIONS,
    ...MOTION_SECTIONS,
    ...SYSTEM1_SECTIONS,
    ...SYSTEM2_SECTIONS,
    ...API_SECTIONS,
    ...MCP_SECTIONS,
    ...CENTRAL_SECTIONS,
    ...ROS_SECTIONS,
    ...ZENOH_SECTIONS,
    ...RELAYS_SECTIONS,
  },
  { additionalProperties: false },
);

export type EdgeConfig = Static<typeof EdgeConfigSchema>;
