import Type, { type Static } from 'typebox';
import { RosGlob, RosName } from '../../names/index.ts';
import { polygonProblems } from '../../util/index.ts';
import { Section } from '../section.ts';
import { JointsConfig, jointsIssues } from './motion-joints.ts';

/**
 * `motion`: what may move the robot. The limits every door's commands are held to (velocity, geofence, joints), which
 * topics never actuate, and the operator's stop: its latch and its doors (the stop listener, central's stop
 * connection, the ROS 2 stop service). The agent's rules (what its skills may touch) are agent.rules.
 */

export const MotionConfig = Section(
  {
    velocity: Section(
      {
        topic: RosName({
          default: '/cmd_vel',
          description: "Where the agent's own motion goes (stop, navigate_to), through the CmdVelGate.",
        }),
        topics: Type.Array(RosGlob(), {
          default: ['/cmd_vel', '/**/cmd_vel'],
          description:
            'Topic globs whose Twist and TwistStamped messages a publish (agent or Foxglove client) is held to these limits on; `**` spans namespaces.',
        }),
        max_linear_x: Type.Number({ minimum: 0, default: 0.22, description: 'm/s, TurtleBot3 burger.' }),
        max_linear_y: Type.Number({
          minimum: 0,
          default: 0,
          description: 'm/s sideways: 0 for a differential-drive base; set it for a holonomic one.',
        }),
        max_linear_z: Type.Number({ minimum: 0, default: 0, description: 'm/s vertical: 0 for a ground robot.' }),
        max_angular_x: Type.Number({ minimum: 0, default: 0, description: 'rad/s roll: 0 for a ground robot.' }),
        max_angular_y: Type.Number({ minimum: 0, default: 0, description: 'rad/s pitch: 0 for a ground robot.' }),
        max_angular_z: Type.Number({ minimum: 0, default: 2.84, description: 'rad/s.' }),
        mode: Type.Union([Type.Literal('clamp'), Type.Literal('reject')], { default: 'clamp' }),
      },
      'Velocity limits, enforced on every Twist the agent sends to the velocity topic and on every publish to motion.velocity.topics.',
    ),
    joints: Type.Optional(JointsConfig),
    non_actuating: Section(
      {
        topics: Type.Array(RosGlob(), {
          default: ['/rosout', '/parameter_events'],
          description: 'Topic globs the daemon publishes to the robot that never move it.',
        }),
        types: Type.Array(Type.String({ minLength: 1 }), {
          default: [
            'sensor_msgs/msg/LaserScan',
            'sensor_msgs/msg/Image',
            'sensor_msgs/msg/CompressedImage',
            'sensor_msgs/msg/CameraInfo',
            'sensor_msgs/msg/PointCloud2',
            'sensor_msgs/msg/Imu',
            'sensor_msgs/msg/NavSatFix',
            'sensor_msgs/msg/BatteryState',
            'sensor_msgs/msg/Range',
            'nav_msgs/msg/Odometry',
            'nav_msgs/msg/OccupancyGrid',
            'nav_msgs/msg/Path',
            'tf2_msgs/msg/TFMessage',
            'rosgraph_msgs/msg/Clock',
            'rcl_interfaces/msg/Log',
            'rcl_interfaces/msg/ParameterEvent',
            'diagnostic_msgs/msg/DiagnosticArray',
            'visualization_msgs/msg/Marker',
            'visualization_msgs/msg/MarkerArray',
          ],
          description: 'Message types (pkg/msg/Name) that never move the robot: measurements, maps, transforms, logs.',
        }),
      },
      "What the daemon publishes to the robot's graph (ros.publish, zenoh) that does not actuate. Every other topic there is a command topic: while the operator's stop is latched nothing is sent on it, whatever its type, but a stop (a zero Twist, a trajectory with no points) and the daemon's own hold.",
    ),
    geofence: Section(
      {
        polygon: Type.Array(Type.Object({ x: Type.Number(), y: Type.Number() }, { additionalProperties: false }), {
          default: [],
          description: 'Map-frame polygon goals must lie in; empty: no geofence.',
        }),
        horizon_s: Type.Number({
          exclusiveMinimum: 0,
          maximum: 60,
          default: 1,
          description:
            "A velocity command (agent, MCP or Foxglove publish on motion.velocity.topics) is held to zero when, kept for this long from the robot's last pose, it would carry the robot out of the fence, or further out.",
        }),
        max_pose_age_ms: Type.Integer({
          minimum: 1,
          default: 1000,
          description:
            'The pose (agent.navigation.odom_topic, taken as map-frame as the navigator takes it) is none when older: a moving command is then held to zero.',
        }),
      },
      'Where navigate_to and call_action may send the robot, and where a velocity command may carry it.',
    ),
    stop: Section(
      {
        latch: Type.Boolean({
          default: true,
          description:
            "The operator's stop (POST /stop, `auraison-edge stop`, the status page, agent/stop) latches: nothing the agent governs moves the robot until a person releases it " +
            '(`auraison-edge stop --release`, POST /stop/release). Kept in <data_dir>/state/stop-latch.json across restarts. false: a stop only stops.',
        }),
        port: Type.Optional(
          Type.Integer({
            minimum: 0,
            maximum: 65535,
            description:
              "The stop listener's TCP port, on api.host: POST /stop served on a thread of its own, which no load on the API waits in front of (docs/api.md). Unset: api.port + 1 (7401), or any free one when api.port is 0; 0 picks a free one. Its URL is in <data_dir>/run/api.json (stop_url) and GET /status.",
          }),
        ),
        listener: Type.Boolean({
          default: true,
          description:
            "Serve POST /stop on the stop listener too (motion.stop.port). Off, the operator's stop is the API's POST /stop alone, on the event loop the API shares.",
        }),
        scheduling: Type.Union([Type.Literal('fifo'), Type.Literal('rr'), Type.Literal('other')], {
          default: 'fifo',
          description:
            "Scheduling of the stop listener's thread alone (Linux): fifo or rr (real time at motion.stop.rt_priority, above the control loop's 50, so a stop is read within a few ms however busy the cores are), or other (the normal scheduler at motion.stop.nice). " +
            'Over 50 connections and requests a second, a real-time thread goes back to the normal scheduler until 5 s pass without a flood, so a flood cannot hold its core. ' +
            "Real time needs CAP_SYS_NICE or LimitRTPRIO= (the system unit grants both); refused, the thread runs at motion.stop.nice, or at the daemon's, and GET /status says so.",
        }),
        rt_priority: Type.Integer({
          minimum: 1,
          maximum: 99,
          default: 60,
          description:
            "SCHED_FIFO/SCHED_RR priority of the stop listener's thread under motion.stop.scheduling fifo or rr.",
        }),
        nice: Type.Integer({
          minimum: -20,
          maximum: 19,
          default: -10,
          description:
            "Niceness of the stop listener's thread under motion.stop.scheduling other, during a flood, or when real time is refused: -10 wakes it ahead of the daemon's busy threads; below 0 needs CAP_SYS_NICE.",
        }),
        central_connection: Type.Boolean({
          default: true,
          description:
            "A second MQTT connection, on a thread of its own, that reads central's signed stop intents and marks the stop line without waiting for the daemon's event loop. With a login it logs in as the robot's stop login, <robot id>/intents with the link's password, which `central acl`'s ACL lets read the intents topic alone. Needs intents and a pinned key.",
        }),
        ros_service: Section(
          {
            process: Type.Boolean({
              default: false,
              description:
                "Serve the operator's stop as a ROS 2 service (std_srvs/srv/Trigger) from a process of its own (adapters/ros/halt_service_node.py, rclpy), which sends each call to the stop listener (motion.stop.listener), so the call does not wait for the daemon's main loop; restarted when it dies. Needs no rclnodejs; ros.services.serve may not serve the same name then.",
            }),
            python: Type.String({
              minLength: 1,
              default: 'python3',
              description:
                "The Python that runs it, with rclpy importable (ROS 2 sourced in the daemon's environment).",
            }),
            name: RosName({ default: '/auraison/stop', description: 'The service name.' }),
          },
          "The operator's stop as a ROS 2 service off the daemon's main loop (docs/api.md).",
        ),
      },
      "The operator's stop: whether it latches, and the doors it comes in by besides the API's POST /stop.",
    ),
  },
  'What may move the robot: the limits every command is held to, the topics that never actuate, and the stop.',
);

export const MOTION_SECTIONS = { motion: MotionConfig } satisfies Type.TProperties;

export type MotionSettings = Static<typeof MotionConfig>;
export type StopSettings = MotionSettings['stop'];

/**
 * What no one key's schema can see in motion: a geofence that is no region (one or two points, which the hook
 * would take as no fence at all, a bow-tie, repeated or collinear points, no area), and joints with no source of
 * limits, or two.
 */
export function motionIssues(motion: MotionSettings): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [...jointsIssues(motion.joints)];
  const fence = motion.geofence.polygon;
  if (fence.length > 0 && fence.length < 3) {
    issues.push({
      path: 'motion.geofence.polygon',
      message: `expected no points (no geofence) or at least 3, got ${fence.length}: a fence of ${fence.length} would fence nothing`,
    });
  } else if (fence.length >= 3) {
    for (const problem of polygonProblems(fence))
      issues.push({ path: 'motion.geofence.polygon', message: `not a region: ${problem}` });
  }
  return issues;
}
