// Over 400 lines because it is config schema (policies, control): a schema per key with its help, read whole.
import Type, { type Static } from 'typebox';
import { RosName } from '../../names/index.ts';
import { Section } from '../section.ts';
import { CamerasConfig } from './cameras.ts';
import { RemotePolicyConfig, remotePolicyIssues } from './remote-policy.ts';

/**
 * Config sections of issue 4: `policies` (ONNX policy manifests) and `control` (fixed-rate loops that run
 * them). Every key has a default; edge.example.yaml documents them with an example.
 */

const Numbers = Type.Array(Type.Number());

// TypeBox fills defaults inside a record's values only when the value schema has a default of its own, so
// every schema used as a record value carries `default: {}` (never used for a present entry).
const RECORD_VALUE = { additionalProperties: false, default: {} } as const;

/**
 * How raw values become what the model was trained on (inputs), or back (outputs). Statistics come from the
 * manifest itself, from a LeRobot stats.json (meta/stats.json of the training dataset, or a policy's
 * stats file), or from the model's metadata_props (comma-separated numbers).
 */
export const NormalizationConfig = Type.Object(
  {
    mode: Type.Union(
      [Type.Literal('mean_std'), Type.Literal('min_max'), Type.Literal('identity'), Type.Literal('imagenet')],
      {
        default: 'mean_std',
        description:
          "mean_std: (x - mean) / std; min_max: to [-1, 1] as LeRobot does; identity: none; imagenet: mean_std with ImageNet's per-channel mean and std (images).",
      },
    ),
    mean: Type.Optional(Numbers),
    std: Type.Optional(Numbers),
    min: Type.Optional(Numbers),
    max: Type.Optional(Numbers),
    stats: Type.Optional(
      Type.String({ minLength: 1, description: 'A LeRobot stats.json to take the statistics from.' }),
    ),
    feature: Type.Optional(
      Type.String({ minLength: 1, description: 'Feature key in stats.json, e.g. observation.state.' }),
    ),
    metadata: Type.Optional(
      Type.Object(
        {
          mean: Type.Optional(Type.String()),
          std: Type.Optional(Type.String()),
          min: Type.Optional(Type.String()),
          max: Type.Optional(Type.String()),
        },
        { additionalProperties: false, description: 'metadata_props keys holding each statistic.' },
      ),
    ),
    epsilon: Type.Number({
      minimum: 0,
      default: 1e-8,
      description: 'Added to std (or max - min) to avoid dividing by zero.',
    }),
  },
  { additionalProperties: false },
);

/** One slice of an input tensor: a field of a topic's latest message, a constant, or a previous output. */
export const SourceConfig = Type.Object(
  {
    topic: Type.Optional(RosName({ description: 'Topic whose latest message feeds this slice.' })),
    type: Type.Optional(Type.String({ description: 'Message type; taken from the bus when the topic is advertised.' })),
    field: Type.Optional(
      Type.String({
        description: 'Dotted path of a number or number array in the message: position, ranges, twist.twist.linear.x.',
      }),
    ),
    fields: Type.Optional(
      Type.Array(Type.String(), { description: 'Several scalar fields, in order (instead of field).' }),
    ),
    indices: Type.Optional(
      Type.Array(Type.Integer({ minimum: 0 }), { description: 'Elements of an array field to take, in order.' }),
    ),
    joints: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        minItems: 1,
        description:
          "A sensor_msgs/msg/JointState's values for these joints, in this order, found by the message's name (field: position by default, velocity or effort): a joint_state_broadcaster's order is not the policy's.",
      }),
    ),
    length: Type.Optional(
      Type.Integer({ minimum: 1, description: 'Elements this slice holds, when it cannot be inferred.' }),
    ),
    scale: Type.Optional(Type.Number({ description: 'Multiply by this (after indices).' })),
    offset: Type.Optional(Type.Number({ description: 'Then add this.' })),
    clip: Type.Optional(
      Type.Tuple([Type.Number(), Type.Number()], {
        description: '[low, high], last; also maps +-Infinity (REP 117 out-of-range scans) to the bounds.',
      }),
    ),
    max_age_ms: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: "Older than this is stale (overrides the loop's default)." }),
    ),
    constant: Type.Optional(Numbers),
    previous_output: Type.Optional(
      Type.String({ description: 'The named output of the previous step (zeros at the start), e.g. last action.' }),
    ),
  },
  { additionalProperties: false },
);

/**
 * A camera feeding an image input: the latest frame of a sensor_msgs/msg/Image or CompressedImage topic,
 * decoded and resized to the input's height and width, channels first or last as the model takes them,
 * float32 in [0, 1] (then `normalize`, per channel) or uint8 as it is.
 */
export const ImageSourceConfig = Type.Object(
  {
    topic: Type.Optional(
      RosName({
        description:
          'sensor_msgs/msg/Image (rgb8, bgr8, rgba8, bgra8, mono8, 16UC1) or CompressedImage (jpeg, png); a control loop needs it, a policy only served takes its frames from each query.',
      }),
    ),
    max_age_ms: Type.Optional(
      Type.Number({ exclusiveMinimum: 0, description: "Older than this is stale (overrides the loop's default)." }),
    ),
    resize: Type.Union([Type.Literal('fill'), Type.Literal('none')], {
      default: 'fill',
      description:
        "fill: resize to the input's H x W (bilinear, aspect not kept, as a dataset's frames are resized); none: a frame of another size is refused.",
    }),
    depth_scale: Type.Number({
      exclusiveMinimum: 0,
      default: 0.001,
      description: '16UC1 depth: value x depth_scale is the input (0.001: millimetres, REP 118, to metres).',
    }),
    max_pixels: Type.Integer({
      minimum: 1,
      default: 16_777_216,
      description: 'A frame with more pixels than this (width x height) is refused before it is decoded.',
    }),
    decode_timeout_ms: Type.Integer({
      minimum: 1,
      default: 250,
      description:
        "A frame's decode budget: a decode past it is abandoned (its decode process killed), counted and refused.",
    }),
    age_from: Type.Union([Type.Literal('stamp'), Type.Literal('arrival')], {
      default: 'stamp',
      description:
        "stamp: a frame is as old as its header.stamp says where the stamp is on the daemon's clock, a frame not stamped after the last one taken is refused (three in a row stamped forward from there are a clock gone back, and taken); arrival: its age counts from its arrival alone (a camera whose clock is not the daemon's).",
    }),
    max_stamp_ahead_ms: Type.Optional(
      Type.Number({
        minimum: 0,
        description:
          "age_from: stamp: a frame stamped further ahead of the daemon's clock than this (default 1000) is refused (bad_stamp); a stamp on another clock (sim time) is behind it.",
      }),
    ),
  },
  { additionalProperties: false },
);

export const InputConfig = Type.Object(
  {
    sources: Type.Array(SourceConfig, { default: [], description: 'Concatenated in order into the tensor.' }),
    image: Type.Optional(ImageSourceConfig),
    recurrent: Type.Optional(
      Type.String({ description: 'Feed this input from the named output of the previous step (zeros at the start).' }),
    ),
    normalize: Type.Optional(NormalizationConfig),
    shape: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1 }), {
        minItems: 1,
        description: 'A remote policy: the input as its server takes it, e.g. [6], or [224, 224, 3] for a camera.',
      }),
    ),
    dtype: Type.Optional(
      Type.Union([Type.Literal('float32'), Type.Literal('uint8')], {
        description: "A remote policy: float32 (default), or uint8 for a camera's frame as its bytes.",
      }),
    ),
  },
  RECORD_VALUE,
);

export const CommandConfig = Type.Object(
  {
    topic: RosName(),
    type: Type.Union(
      [
        Type.Literal('geometry_msgs/msg/Twist'),
        Type.Literal('std_msgs/msg/Float64MultiArray'),
        Type.Literal('trajectory_msgs/msg/JointTrajectory'),
      ],
      { description: 'The command message an action becomes.' },
    ),
    fields: Type.Array(Type.String(), {
      default: ['linear.x', 'angular.z'],
      description: 'Twist only: the field each action element sets, in order.',
    }),
    joint_names: Type.Array(Type.String(), {
      default: [],
      description:
        "The joint of each action element: a JointTrajectory's, or a Float64MultiArray's to a position controller (the stop then holds their measured positions). Leave it empty for a Float64MultiArray to a velocity or effort controller, whose stop is zeros.",
    }),
    joint_states: RosName({
      default: '/joint_states',
      description:
        "sensor_msgs/msg/JointState of the joint_names, by name: on a stop, a stale observation, an overdue chunk or the loop's end the command holds the positions measured there at that moment (unless safe_action names a fixed action).",
    }),
    scale: Type.Number({ default: 1, description: 'Command = action * scale + offset, then clipped.' }),
    offset: Type.Union([Type.Number(), Numbers], { default: 0 }),
    clip: Type.Optional(
      Type.Tuple([Type.Number(), Type.Number()], { description: '[low, high] applied to every element.' }),
    ),
    frame_id: Type.String({ default: '', description: 'JointTrajectory header.frame_id.' }),
  },
  { additionalProperties: false },
);

export const OutputConfig = Type.Object(
  {
    unnormalize: Type.Optional(NormalizationConfig),
    command: Type.Optional(CommandConfig),
    shape: Type.Optional(
      Type.Array(Type.Integer({ minimum: 1 }), {
        description: 'A remote policy: its action chunk as the server replies it, [chunk, action size], e.g. [50, 6].',
      }),
    ),
  },
  RECORD_VALUE,
);

export const PolicyConfig = Type.Object(
  {
    model: Type.Optional(
      Type.String({
        minLength: 1,
        description: "Path of the .onnx file (relative to the config file's folder); .onnx.data beside it.",
      }),
    ),
    remote: Type.Optional(RemotePolicyConfig),
    provider: Type.Union([Type.Literal('cpu'), Type.Literal('cuda'), Type.Literal('tensorrt')], {
      default: 'cpu',
      description: 'Execution provider; cuda and tensorrt need onnxruntime-node with its GPU libraries.',
    }),
    threads: Type.Integer({ minimum: 1, maximum: 64, default: 1, description: 'Intra-op threads of the session.' }),
    serve: Type.Boolean({
      default: true,
      description:
        'Answer the bus query ai/inference/vla/<name> (a model run here; a remote policy is never served again).',
    }),
    max_pending_queries: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 8,
      description:
        'Queries to ai/inference/vla/<name> in flight or waiting (they run one at a time); past it a query is refused at once with error busy. ' +
        "A query whose caller's timeout passes while it waits is dropped without running the model.",
    }),
    inputs: Type.Record(Type.String(), InputConfig, { default: {}, description: 'By model input name.' }),
    outputs: Type.Record(Type.String(), OutputConfig, { default: {}, description: 'By model output name.' }),
  },
  RECORD_VALUE,
);

export const ChunkingConfig = Type.Object(
  {
    threshold: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.5,
      description: 'Ask for a new chunk when queue / chunk size falls to this.',
    }),
    aggregate: Type.Union(
      [
        Type.Literal('weighted_average'),
        Type.Literal('latest_only'),
        Type.Literal('average'),
        Type.Literal('conservative'),
      ],
      {
        default: 'weighted_average',
        description:
          'How overlapping actions merge: weighted_average 0.3 old + 0.7 new, average, conservative 0.7 old + 0.3 new, latest_only.',
      },
    ),
    inference: Type.Union([Type.Literal('async'), Type.Literal('inline')], {
      default: 'async',
      description:
        'async: chunks come from an inference thread, the loop never waits; inline: inference runs inside the tick.',
    }),
    n_action_steps: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          "Actions of each chunk that are queued (ACT's n_action_steps; default: the whole chunk). With threshold 0 and inference inline, the loop runs a chunk policy as LeRobot's select_action does.",
      }),
    ),
    temporal_ensemble_coeff: Type.Optional(
      Type.Number({
        description:
          "ACT's temporal ensembling: a chunk is planned every tick (inference: inline) and each action is the average of every prediction for its timestep, the i-th oldest weighted exp(-coeff * i) (LeRobot's default 0.01).",
      }),
    ),
    inference_timeout_ms: Type.Number({
      exclusiveMinimum: 0,
      default: 1000,
      description:
        'async: a chunk not back this long after its observation went out is overdue: counted, logged and reported (the control component is degraded while it waits). ' +
        'The loop sends its on_underrun action meanwhile; the run is never interrupted (that would abort the daemon) and the loop is not restarted for it.',
    }),
  },
  { additionalProperties: false, default: {} },
);

export const LoopConfig = Type.Object(
  {
    policy: Type.String({ minLength: 1, description: 'A key of policies.' }),
    autostart: Type.Boolean({
      default: true,
      description:
        "Run from daemon start to stop. false: the loop runs only on demand, for the seconds the agent's run_policy skill asks.",
    }),
    output: Type.Optional(
      Type.String({ description: 'Which model output is the action (default: the one with a command).' }),
    ),
    rate_hz: Type.Number({ minimum: 1, maximum: 1000, default: 50 }),
    max_observation_age_ms: Type.Number({
      exclusiveMinimum: 0,
      default: 200,
      description: 'An observation older than this is stale (per source: max_age_ms).',
    }),
    safe_action: Type.Optional(
      Type.Array(Type.Number(), {
        description:
          "Sent when an observation is stale or missing, a chunk is overdue, the operator's stop holds or the loop ends. By default zeros, but a joint position command (joint_names) holds the measured position instead; a safe_action given here is sent as it is.",
      }),
    ),
    allow_moving_safe_action: Type.Boolean({
      default: false,
      description:
        "A Twist loop's safe action must stop the robot (every commanded velocity 0); true allows one that moves it.",
    }),
    on_underrun: Type.Union([Type.Literal('skip'), Type.Literal('hold'), Type.Literal('safe')], {
      default: 'skip',
      description:
        'Chunked policies, when the action queue is empty: skip (send nothing, as LeRobot), hold the last action, or send the safe action.',
    }),
    chunking: ChunkingConfig,
    episodes: Type.Optional(
      RosName({
        description:
          'A std_msgs/msg/String topic of episode marks, e.g. /evaluation/episode (as lerobot export --episodes-from reads them): at each "begin ..." the loop drops the actions it planned in the episode before, queued or in flight, and plans from its next observation, as LeRobot resets its policy for each episode.',
      }),
    ),
    scheduling: Type.Union([Type.Literal('fifo'), Type.Literal('rr'), Type.Literal('other')], {
      default: 'fifo',
      description:
        'Scheduling policy of the loop thread alone (Linux): fifo (SCHED_FIFO at rt_priority, as ros2_control runs its loop), rr, or other (the normal scheduler at `nice`). ' +
        'A real-time policy needs CAP_SYS_NICE or LimitRTPRIO; without it the loop falls back to `nice` and says so in the log and in status.',
    }),
    rt_priority: Type.Integer({
      minimum: 1,
      maximum: 99,
      default: 50,
      description: 'SCHED_FIFO/SCHED_RR priority of the loop thread (ros2_control uses 50).',
    }),
    cpu_affinity: Type.Array(Type.Integer({ minimum: 0, maximum: 1023 }), {
      default: [],
      uniqueItems: true,
      description:
        "CPUs the loop thread alone runs on (Linux, as ros2_control's cpu_affinity); empty: wherever the daemon runs. " +
        'Pair it with the daemon kept off those CPUs (systemd CPUAffinity=, or isolcpus=) so the loop has its core to itself.',
    }),
    nice: Type.Integer({
      minimum: -20,
      maximum: 19,
      default: -10,
      description:
        'Niceness of the loop thread under scheduling: other, or when a real-time policy is refused; below 0 needs CAP_SYS_NICE, else the loop runs at the default and says so.',
    }),
    isolation: Type.Union([Type.Literal('thread'), Type.Literal('process')], {
      default: 'thread',
      description:
        "thread: the loop runs in a worker thread of the daemon's process. process: in a child process of its own, with its own small heap, every thread of it at the loop's scheduling, so the daemon's garbage collection cannot stall a tick; observations and commands cross a channel, camera frames shared files in tmpfs.",
    }),
  },
  RECORD_VALUE,
);

export const PoliciesConfig = Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), PolicyConfig, {
  default: {},
  description: 'ONNX policies by name; each answers ai/inference/vla/<name> and can drive control loops.',
});

export const ControlConfig = Section(
  {
    liveness_timeout_ms: Type.Number({
      exclusiveMinimum: 0,
      default: 1000,
      description: 'A loop that has not ticked for this long is dead (the watchdog stops).',
    }),
    start_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      default: 60,
      description:
        'Longest the policies and control components may take to start (loading every model, starting every loop); past it the start fails and is retried with backoff.',
    }),
    loops: Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), LoopConfig, { default: {} }),
  },
  'Fixed-rate control loops, each in a worker thread of its own (or, isolation: process, a process of its own).',
);

export const SYSTEM1_SECTIONS = {
  policies: PoliciesConfig,
  control: ControlConfig,
  cameras: CamerasConfig,
} satisfies Type.TProperties;

/**
 * What no one key's schema can see in policies and control: reversed clip bounds, a Twist loop whose safe
 * action moves the robot, two autostart loops commanding one topic. Each issue names its key.
 */
export function system1Issues(config: {
  policies: Static<typeof PoliciesConfig>;
  control: ControlSettings;
}): { path: string; message: string }[] {
  const issues = remotePolicyIssues(config.policies, config.control.loops);
  const clip = (path: string, bounds: [number, number] | undefined): void => {
    if (bounds && bounds[0] > bounds[1])
      issues.push({ path, message: `[low, high]: low ${bounds[0]} is greater than high ${bounds[1]}` });
  };
  for (const [name, p] of Object.entries(config.policies)) {
    for (const [input, i] of Object.entries(p.inputs))
      i.sources.forEach((s, k) => clip(`policies.${name}.inputs.${input}.sources[${k}].clip`, s.clip));
    for (const [output, o] of Object.entries(p.outputs)) {
      clip(`policies.${name}.outputs.${output}.command.clip`, o.command?.clip);
      const offset = o.command?.offset;
      if (!Array.isArray(offset)) continue;
      const at = `policies.${name}.outputs.${output}.command.offset`;
      const dim = declaredActionDim(o);
      if (dim && offset.length !== dim.n)
        issues.push({ path: at, message: `has ${offset.length} values, the action has ${dim.n} (${dim.from})` });
      if (!offset.every((v) => Number.isFinite(Math.fround(v))))
        issues.push({
          path: at,
          message: `must hold finite float32 numbers (|x| < 3.4e38): ${JSON.stringify(offset)}`,
        });
    }
  }
  const commanders = new Map<string, string>();
  for (const [name, loop] of Object.entries(config.control.loops)) {
    const policy = config.policies[loop.policy];
    if (!policy) {
      // Here as well as when the loop starts: a config error (exit 2), not a control component that fails and retries
      // forever.
      issues.push({
        path: `control.loops.${name}.policy`,
        message: `no policy "${loop.policy}" in policies (known: ${Object.keys(config.policies).join(', ') || 'none'})`,
      });
      continue;
    }
    const outputs = Object.entries(policy.outputs).filter(
      ([o, s]) => s.command && (loop.output === undefined || loop.output === o),
    );
    for (const [output, settings] of outputs) {
      const { topic, type, scale, offset, clip: bounds } = settings.command!;
      if (loop.safe_action) {
        // Checked here as well as when the loop starts, so a wrong safe action is a config error (exit 2), not a
        // control component that fails and retries forever.
        const at = `control.loops.${name}.safe_action`;
        const dim =
          declaredActionDim(settings) ??
          (Array.isArray(offset)
            ? { n: offset.length, from: `policies.${loop.policy}.outputs.${output}.command.offset` }
            : undefined);
        if (dim && loop.safe_action.length !== dim.n)
          issues.push({
            path: at,
            message: `has ${loop.safe_action.length} values, an action of ${loop.policy} has ${dim.n} (${dim.from})`,
          });
        if (!loop.safe_action.every((v) => Number.isFinite(Math.fround(v))))
          issues.push({
            path: at,
            message: `must hold finite float32 numbers (|x| < 3.4e38): ${JSON.stringify(loop.safe_action)}`,
          });
      }
      if (loop.autostart) {
        const other = commanders.get(topic);
        if (other !== undefined)
          issues.push({
            path: `control.loops.${name}`,
            message: `commands ${topic}, as loop ${other} does: two loops would interleave their commands; give each its own topic`,
          });
        else commanders.set(topic, name);
      }
      if (type !== 'geometry_msgs/msg/Twist' || loop.allow_moving_safe_action) continue;
      // The default (zeros) too: with an offset, a zero action moves the robot.
      const safe = loop.safe_action ?? new Array<number>(settings.command!.fields.length).fill(0);
      // What the robot receives: action * scale + offset, then clip.
      const sent = safe.map((v, i) => {
        const x = v * scale + (Array.isArray(offset) ? (offset[i] ?? 0) : offset);
        return bounds ? Math.min(Math.max(x, bounds[0]), bounds[1]) : x;
      });
      if (sent.some((v) => v !== 0)) {
        issues.push({
          path: `control.loops.${name}.safe_action`,
          message: `${loop.safe_action ? JSON.stringify(safe) : `not given, so zeros ${JSON.stringify(safe)}, which`} commands ${JSON.stringify(sent)} on ${topic}: the safe action, sent when observations are stale or missing, must stop the robot (0); give a safe_action that commands 0, or set allow_moving_safe_action: true if it really must move`,
        });
      }
    }
  }
  return issues;
}

/**
 * The action length the config itself declares, when it does: a Twist's fields, a joint command's joints,
 * or the unnormalize statistics. The model's own output shape is checked when the loop starts.
 */
function declaredActionDim(o: Static<typeof OutputConfig>): { n: number; from: string } | undefined {
  const command = o.command;
  if (command?.type === 'geometry_msgs/msg/Twist')
    return { n: command.fields.length, from: `${command.fields.length} Twist fields` };
  if (command && command.joint_names.length > 0)
    return { n: command.joint_names.length, from: `${command.joint_names.length} joint_names` };
  const u = o.unnormalize;
  const stat = u && (['mean', 'std', 'min', 'max'] as const).find((k) => u[k] !== undefined);
  return stat ? { n: u[stat]!.length, from: `unnormalize.${stat} has ${u[stat]!.length}` } : undefined;
}

export type NormalizationSettings = Static<typeof NormalizationConfig>;
export type SourceSettings = Static<typeof SourceConfig>;
export type InputSettings = Static<typeof InputConfig>;
export type ImageSourceSettings = Static<typeof ImageSourceConfig>;
export type OutputSettings = Static<typeof OutputConfig>;
export type CommandSettings = Static<typeof CommandConfig>;
export type PolicySettings = Static<typeof PolicyConfig>;
export type LoopSettings = Static<typeof LoopConfig>;
export type ControlSettings = Static<typeof ControlConfig>;
export type CamerasSettings = Static<typeof CamerasConfig>;
