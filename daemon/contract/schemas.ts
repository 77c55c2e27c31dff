import Type, { type Static } from 'typebox';

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';

/**
 * The Auraison runtime contract: six typed primitives. These schemas describe the JSON form that crosses
 * every boundary (HTTP, MQTT, Zenoh, ROS, the durable log); times are ns since the epoch as decimal strings.
 * In memory, `*FromJson` converts times to bigint.
 */

export const Id = Type.String({ pattern: UUID_PATTERN, description: 'UUID (v7 when made by the daemon)' });
export const NsTime = Type.String({ pattern: '^[0-9]{1,20}$', description: 'ns since the epoch, as a decimal string' });
const Name = Type.String({ pattern: '^[a-z][a-z0-9_]*$', maxLength: 64 });
const JsonObject = Type.Record(Type.String(), Type.Unknown());

/** Who asked, from where, and under which policy. Policy hooks read it; models never see it as authority. */
export const PolicyContext = Type.Object(
  {
    actor: Type.String({ maxLength: 128, default: 'anonymous', description: 'who submitted the intent' }),
    source: Type.Union([
      Type.Literal('http'),
      Type.Literal('mqtt'),
      Type.Literal('ros'),
      Type.Literal('zenoh'),
      Type.Literal('cli'),
      Type.Literal('mcp'),
      Type.Literal('internal'),
    ]),
    requires_approval: Type.Optional(Type.Boolean()),
    max_tool_calls: Type.Optional(Type.Integer({ minimum: 1 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1 })),
    max_wall_s: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  },
  { additionalProperties: false },
);

/**
 * Something to achieve. `type` is a skill name (runs deterministically, no model) or `natural_language`
 * (params.text, planned by System 2).
 */
export const Intent = Type.Object(
  {
    intent_id: Id,
    type: Name,
    params: JsonObject,
    policy_ctx: PolicyContext,
    targets: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      maxItems: 64,
      description:
        'robots (robot.id) or resources on a robot (<robot id>/<resource>: an arm, a named policy) the intent addresses; empty: the robot that received it. A robot refuses an intent whose targets name neither it nor one of its resources (wrong_target).',
    }),
    created_at: Type.Optional(NsTime),
  },
  { additionalProperties: false },
);

/** A named, typed capability made of tools and deterministic frames (navigate_to, run_policy, ...). */
export const Skill = Type.Object(
  {
    name: Name,
    description: Type.String(),
    params: JsonObject,
    tools: Type.Array(Name),
    requires_approval: Type.Boolean({ default: false }),
    deterministic: Type.Boolean({ description: 'true when the skill runs with no model' }),
  },
  { additionalProperties: false },
);

export const ToolResult = Type.Union([
  Type.Object({ ok: Type.Literal(true), output: Type.Unknown() }, { additionalProperties: false }),
  Type.Object({ ok: Type.Literal(false), error: Type.String() }, { additionalProperties: false }),
]);

/** One call of a tool within a run, with the schemas its input and output must match. */
export const ToolCall = Type.Object(
  {
    call_id: Type.String({ minLength: 1, maxLength: 128 }),
    run_id: Id,
    tool: Name,
    input_schema: JsonObject,
    output_schema: JsonObject,
    input: Type.Unknown(),
    result: Type.Optional(ToolResult),
  },
  { additionalProperties: false },
);

export const RunStatus = Type.Union([
  Type.Literal('pending'),
  Type.Literal('running'),
  Type.Literal('awaiting_approval'),
  Type.Literal('succeeded'),
  Type.Literal('failed'),
  Type.Literal('cancelled'),
  Type.Literal('interrupted'),
]);

/** The state of one run of an intent. `tree_ref` points at the plan it executes (skill name or plan id). */
export const RunState = Type.Object(
  {
    run_id: Id,
    intent_id: Id,
    tree_ref: Type.String({ minLength: 1, maxLength: 256 }),
    status: RunStatus,
    reason: Type.Optional(Type.String()),
    created_at: NsTime,
    updated_at: NsTime,
  },
  { additionalProperties: false },
);

/** Something that happened in a run: `kind` like `tool.call`, `policy.decision`, `run.status`. */
export const AgentEvent = Type.Object(
  {
    event_id: Id,
    run_id: Id,
    kind: Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)*$', maxLength: 64 }),
    payload: JsonObject,
    ts: NsTime,
  },
  { additionalProperties: false },
);

/** A domain fact derived from messages or events (a pose, a goal reached), for projections and the lakehouse. */
export const ProjectionEvent = Type.Object(
  {
    event_id: Id,
    domain: Name,
    projection: Name,
    payload: JsonObject,
    ts: NsTime,
  },
  { additionalProperties: false },
);

export type PolicyContext = Static<typeof PolicyContext>;
export type Intent = Static<typeof Intent>;
export type Skill = Static<typeof Skill>;
export type ToolResult = Static<typeof ToolResult>;
export type ToolCall = Static<typeof ToolCall>;
export type RunStatus = Static<typeof RunStatus>;
export type RunState = Static<typeof RunState>;
export type AgentEvent = Static<typeof AgentEvent>;
export type ProjectionEvent = Static<typeof ProjectionEvent>;

/** A stop request (POST /stop, the bus query `agent/stop`); none at all is `{}`. */
export const HaltRequest = Type.Object(
  {
    by: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'who stops the robot (default api, or bus)' }),
    ),
    reason: Type.Optional(Type.String({ maxLength: 1024, description: 'why, recorded in each cancelled run' })),
  },
  { additionalProperties: false },
);
export type HaltRequest = Static<typeof HaltRequest>;

/** Releasing the latched stop (POST /stop/release): who releases it; no body at all is fine too. */
export const HaltReleaseRequest = Type.Object(
  {
    by: Type.Optional(
      Type.String({ minLength: 1, maxLength: 128, description: 'who releases the latch (default api)' }),
    ),
    since: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'the since of the latch the releaser was shown: a newer latch is not released (409)',
      }),
    ),
  },
  { additionalProperties: false },
);
export type HaltReleaseRequest = Static<typeof HaltReleaseRequest>;
