import { setImmediate as yieldToIo } from 'node:timers/promises';
import type { Publisher, Subscription } from '../../daemon/bus/index.ts';
import { MessageCodec } from '../../daemon/bus/index.ts';
import type { Pose2D } from '../../daemon/navigation/index.ts';
import type { Component, ComponentContext, ComponentHealth } from '../../daemon/lifecycle/index.ts';
import { HaltLine } from '../../daemon/halt/index.ts';
import { errorText, sleep } from '../../daemon/util/index.ts';
import { Camera } from './camera.ts';
import { generateMaze, type Maze } from './maze.ts';
import { NavigateToPoseServer } from './navigate-to-pose-server.ts';
import {
  cameraInfoMessage,
  clockMessage,
  imageMessage,
  jointStateMessage,
  laserScanMessage,
  occupancyGridMessage,
  odometryMessage,
  odomTfMessage,
  robotDescriptionMessage,
  staticTfMessage,
} from './messages.ts';
import { rasterize } from './occupancy.ts';
import { StepRate } from './schedule.ts';
import { BURGER_URDF } from './urdf.ts';
import { MazeWorld } from './world.ts';

/** Physics steps per sim second (10 ms steps). /clock is published every step. */
const STEP_HZ = 100;
const PHYSICS_DT = 1 / STEP_HZ;
/**
 * /odom, /tf and /joint_states at 30 Hz, as the TurtleBot3's diff drive and joint states; /scan at 5 Hz, as the LDS-01.
 */
const ODOM_HZ = 30;
const SCAN_HZ = 5;
// Longest single pacing sleep, wall ms: a slow sim waits in slices, so close() never waits on a long timer
// and no timer exceeds Node's 2^31-1 ms (beyond which it fires after 1 ms).
const PACE_SLICE_MS = 100;

type PubKey = 'scan' | 'odom' | 'jointStates' | 'tf' | 'tfStatic' | 'robotDescription' | 'map' | 'clock';

type Qos = { reliability: 'best_effort' | 'reliable'; durability: 'volatile' | 'transient_local'; depth: number };
// What the ROS 2 publishers offer, as a recorded bag's offered_qos_profiles (ros2 bag play republishes with them).
const SENSOR_QOS: Qos = { reliability: 'best_effort', durability: 'volatile', depth: 5 }; // rclcpp::SensorDataQoS
// map_server, tf2 static, robot_state_publisher
const LATCHED_QOS: Qos = { reliability: 'reliable', durability: 'transient_local', depth: 1 };
const TF_QOS: Qos = { reliability: 'reliable', durability: 'volatile', depth: 100 }; // tf2_ros::DynamicBroadcasterQoS
const CLOCK_QOS: Qos = { reliability: 'best_effort', durability: 'volatile', depth: 1 }; // rclcpp::ClockQoS

/**
 * The turtlebot-maze simulator as a daemon component. It publishes CDR on the bus exactly as a TurtleBot3
 * in Gazebo would (/scan, /odom, /joint_states, /tf, /tf_static, /robot_description, /map, /clock, and unless
 * config turns it off a camera's /camera/image_raw and /camera/camera_info) and drives the robot from /cmd_vel.
 *
 * Determinism: time advances in fixed physics steps; after each step the sim yields to the event loop, so
 * every subscriber has handled what was published (and any /cmd_vel it sent back is applied) before the
 * next step. A run therefore depends only on the seeds and the subscribers' logic, not on wall-clock
 * timing, whatever `speed` is.
 */
export class TurtlebotMazeSim implements Component {
  readonly name = 'sim';
  readonly maze: Maze;
  readonly world: MazeWorld;
  /** Named goals: the maze's own (charging_dock, ...) plus config's sim.named_poses. */
  readonly namedPoses: Readonly<Record<string, Pose2D>>;
  readonly speed: number;
  #ctx: ComponentContext;
  #codec: MessageCodec;
  #pubs: Record<PubKey, Publisher> | undefined;
  #camera: { view: Camera; rateHz: number } | undefined;
  #cameraPubs: { image: Publisher; info: Publisher } | undefined;
  #cmdSub: Subscription | undefined;
  #running = false;
  #loop: Promise<void> | undefined;
  #failure: string | undefined;
  #wallStart = 0;
  #stepWaiters: { time: number; resolve: () => void }[] = [];
  #rejectedCommands = 0;
  #paused: boolean;
  #resume: (() => void) | undefined;
  #stopServing: (() => void)[] = [];
  #closing = new AbortController();
  #navigateAction: NavigateToPoseServer | undefined;
  /** The daemon's stop line, and the count of stops it showed when this sim last stepped. */
  #haltLine: HaltLine;
  #stopsSeen: number;
  #stopsTaken = 0;

  constructor(ctx: ComponentContext) {
    const { seed, maze_seed: mazeSeed, speed, named_poses: extraPoses, paused, camera } = ctx.config.sim;
    this.#paused = paused;
    this.#ctx = ctx;
    this.#codec = new MessageCodec(ctx.definitions);
    this.#haltLine = new HaltLine(ctx.haltAuthority.haltLine);
    this.#stopsSeen = this.#haltLine.stops;
    this.maze = generateMaze({ seed: mazeSeed });
    this.world = new MazeWorld({ maze: this.maze, seed });
    this.speed = speed;
    const extra = Object.fromEntries(
      Object.entries(extraPoses).map(([k, p]) => [k, { x: p.x, y: p.y, yaw: p.yaw ?? 0 }]),
    );
    this.namedPoses = { ...this.maze.namedPoses, ...extra };
    if (camera.enabled) {
      const { width, height, fov_deg: fovDeg, rate_hz: rateHz } = camera;
      // The dock is drawn where the goal of that name is, config's own included.
      const dock = this.namedPoses.charging_dock;
      const view = new Camera({ walls: this.maze.walls, width, height, fovDeg, ...(dock ? { dock } : {}) });
      this.#camera = { view, rateHz };
    }
  }

  /** Sim seconds elapsed. */
  get time(): number {
    return this.world.time;
  }

  async start(): Promise<void> {
    const { bus } = this.#ctx;
    const adv = (topic: string, type: string, qos: Qos | undefined) =>
      bus.advertise(topic, type, { source: 'sim', qos });
    this.#pubs = {
      scan: adv('/scan', 'sensor_msgs/msg/LaserScan', SENSOR_QOS),
      odom: adv('/odom', 'nav_msgs/msg/Odometry', undefined),
      jointStates: adv('/joint_states', 'sensor_msgs/msg/JointState', undefined),
      tf: adv('/tf', 'tf2_msgs/msg/TFMessage', TF_QOS),
      tfStatic: adv('/tf_static', 'tf2_msgs/msg/TFMessage', LATCHED_QOS),
      robotDescription: adv('/robot_description', 'std_msgs/msg/String', LATCHED_QOS),
      map: adv('/map', 'nav_msgs/msg/OccupancyGrid', LATCHED_QOS),
      clock: adv('/clock', 'rosgraph_msgs/msg/Clock', CLOCK_QOS),
    };
    if (this.#camera) {
      // As a ROS 2 camera driver names them (image_transport's camera publisher: image_raw beside camera_info).
      this.#cameraPubs = {
        image: adv('/camera/image_raw', 'sensor_msgs/msg/Image', SENSOR_QOS),
        info: adv('/camera/camera_info', 'sensor_msgs/msg/CameraInfo', SENSOR_QOS),
      };
    }
    this.#publish('map', 'nav_msgs/msg/OccupancyGrid', occupancyGridMessage(rasterize(this.maze)));
    this.#publish('tfStatic', 'tf2_msgs/msg/TFMessage', staticTfMessage());
    this.#publish('robotDescription', 'std_msgs/msg/String', robotDescriptionMessage(BURGER_URDF));
    bus.advertise('/cmd_vel', 'geometry_msgs/msg/Twist', { source: 'sim' }).close(); // declares the type
    this.#cmdSub = bus.subscribe({
      name: 'sim',
      topic: '/cmd_vel',
      queue: { policy: 'keep-latest' },
      handler: (msg) => {
        const twist = this.#codec.decode<{ linear: { x: number }; angular: { z: number } }>(msg.type, msg.data);
        // A publisher's NaN must not reach the motors: the command is refused, counted and logged.
        if (!Number.isFinite(twist.linear.x) || !Number.isFinite(twist.angular.z)) {
          this.#rejectedCommands++;
          this.#ctx.log.warn(
            { source: msg.source, linear: twist.linear.x, angular: twist.angular.z },
            '/cmd_vel with a non-finite value refused',
          );
          return;
        }
        this.world.setCmdVel(twist.linear.x, twist.angular.z);
      },
    });
    // Like Gazebo's pause_physics/unpause_physics services: a paused sim holds its clock (and publishes
    // nothing new) until unpaused, so drivers and recorders can be in place before t = 0.
    const reply = (text: string) => ({ encoding: 'text/plain', payload: new TextEncoder().encode(text) });
    this.#stopServing.push(
      bus.serve('sim/pause', async () => {
        this.pause();
        return reply(`paused at ${this.world.time.toFixed(3)} s`);
      }),
      bus.serve('sim/unpause', async () => {
        this.unpause();
        return reply(`running from ${this.world.time.toFixed(3)} s`);
      }),
    );
    if (this.#ctx.config.sim.navigate_action) {
      this.#navigateAction = new NavigateToPoseServer({
        bus,
        codec: this.#codec,
        log: this.#ctx.log,
        pose: () => this.world.pose(),
        time: () => this.world.time,
        timeScale: this.speed,
      });
    }
    this.#running = true;
    this.#closing = new AbortController();
    this.#wallStart = performance.now();
    this.#loop = this.#run().catch((error: unknown) => {
      this.#failure = errorText(error);
      this.#ctx.log.error({ err: this.#failure }, 'simulator stopped on an error');
    });
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** The step loop is waiting out a pause: nothing steps or publishes until unpause (paused says only it was asked). */
  get holding(): boolean {
    return this.#resume !== undefined;
  }

  pause(): void {
    this.#paused = true;
  }

  unpause(): void {
    if (!this.#paused) return;
    this.#paused = false;
    this.#resume?.();
  }

  async close(): Promise<void> {
    this.#running = false;
    for (const stop of this.#stopServing.splice(0)) stop();
    this.#navigateAction?.close();
    this.#navigateAction = undefined;
    this.#closing.abort();
    this.#resume?.();
    await this.#loop;
    if (this.#cmdSub) this.#ctx.bus.unsubscribe(this.#cmdSub);
    for (const pub of Object.values(this.#pubs ?? {})) pub.close();
    for (const pub of Object.values(this.#cameraPubs ?? {})) pub.close();
    for (const w of this.#stepWaiters.splice(0)) w.resolve();
  }

  /** Resolves once sim time reaches `time` (or the sim stops). */
  until(time: number): Promise<void> {
    if (this.world.time >= time || !this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#stepWaiters.push({ time, resolve }));
  }

  health(): ComponentHealth {
    const wall = (performance.now() - this.#wallStart) / 1000;
    return {
      state: this.#failure ? 'failed' : this.#running ? 'running' : 'stopped',
      ...(this.#paused && this.#running ? { reason: 'paused: unpause with the bus query sim/unpause' } : {}),
      ...(this.#failure ? { reason: this.#failure } : {}),
      details: {
        sim_time_s: this.world.time,
        paused: this.#paused,
        real_time_factor: wall > 0 ? this.world.time / wall : 0,
        collisions: this.world.collisions,
        distance_m: this.world.distance,
        pose: this.world.pose(),
        rejected_commands: this.#rejectedCommands,
        stops_obeyed: this.#stopsTaken,
      },
    };
  }

  async #run(): Promise<void> {
    const odomRate = new StepRate(ODOM_HZ, STEP_HZ);
    const scanRate = new StepRate(SCAN_HZ, STEP_HZ);
    const cameraRate = this.#camera && new StepRate(this.#camera.rateHz, STEP_HZ);
    // A scan period is 6 odometry periods, so every /scan step is an /odom step too: each /scan has the /tf of
    // its very stamp, sent just before it (a TF lookup at the scan's stamp never extrapolates).
    for (let step = 0; this.#running; step++) {
      if (this.#paused) await this.#waitWhilePaused();
      if (!this.#running) break;
      const t = this.world.time;
      // The clock first: a node on sim time has reached t when data stamped t arrives, never the step before.
      this.#publish('clock', 'rosgraph_msgs/msg/Clock', clockMessage(t));
      if (odomRate.due(step)) {
        const pose = this.world.pose();
        const wheels = this.world.wheels();
        this.#publish('odom', 'nav_msgs/msg/Odometry', odometryMessage(t, pose, this.world.twist()));
        this.#publish('jointStates', 'sensor_msgs/msg/JointState', jointStateMessage(t, wheels));
        this.#publish('tf', 'tf2_msgs/msg/TFMessage', odomTfMessage(t, pose, wheels));
      }
      if (scanRate.due(step)) this.#publish('scan', 'sensor_msgs/msg/LaserScan', laserScanMessage(this.world.scan()));
      if (cameraRate?.due(step)) this.#publishFrame(t);
      // Let every subscriber handle this step's messages (and answer on /cmd_vel) before physics moves on.
      await this.#pace(t);
      if (!this.#running) break;
      this.#obeyHaltLine();
      this.world.step(PHYSICS_DT);
      this.#wakeWaiters();
    }
  }

  /**
   * The operator's stop as the robot's own zero command: a stop counted on the line since the last step (the
   * stop listener's, on its thread, before any zero Twist reached the bus) zeroes the command before physics
   * moves on, whatever /cmd_vel last said.
   */
  #obeyHaltLine(): void {
    const stops = this.#haltLine.stops;
    if (stops === this.#stopsSeen) return;
    this.#stopsSeen = stops;
    this.#stopsTaken++;
    this.world.setCmdVel(0, 0);
  }

  async #waitWhilePaused(): Promise<void> {
    const pausedAt = performance.now();
    await new Promise<void>((resolve) => (this.#resume = resolve));
    this.#resume = undefined;
    // Pacing restarts from here: the sim does not rush to catch up on the time it was paused.
    this.#wallStart += performance.now() - pausedAt;
  }

  async #pace(simTime: number): Promise<void> {
    const dueMs = this.#wallStart + (simTime * 1000) / this.speed;
    let aheadMs = dueMs - performance.now();
    if (aheadMs < 1) return yieldToIo();
    const { signal } = this.#closing;
    while (aheadMs >= 1 && !signal.aborted) {
      // A close() ends the sleep early.
      await sleep(Math.min(aheadMs, PACE_SLICE_MS), { signal });
      aheadMs = dueMs - performance.now();
    }
  }

  #wakeWaiters(): void {
    if (this.#stepWaiters.length === 0) return;
    const now = this.world.time;
    const due = this.#stepWaiters.filter((w) => w.time <= now);
    if (due.length === 0) return;
    this.#stepWaiters = this.#stepWaiters.filter((w) => w.time > now);
    for (const w of due) w.resolve();
  }

  /** A frame from the robot's pose at `t`, then its CameraInfo with the same stamp, as a camera driver sends them. */
  #publishFrame(t: number): void {
    const { view } = this.#camera!;
    const { image, info } = this.#cameraPubs!;
    image.publish(this.#codec.encode('sensor_msgs/msg/Image', imageMessage(t, view, view.render(this.world.pose()))));
    info.publish(this.#codec.encode('sensor_msgs/msg/CameraInfo', cameraInfoMessage(t, view)));
  }

  #publish(key: PubKey, type: string, message: unknown): void {
    this.#pubs![key].publish(this.#codec.encode(type, message));
  }
}
