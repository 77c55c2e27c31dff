import Type, { type Static } from 'typebox';
import { baseUrlProblem, splitCredentials } from '../../util/index.ts';
import { NAME_KEYS_KEYWORD, RosGlob, RosName } from '../../names/index.ts';
import { Section } from '../section.ts';

/**
 * Config sections of System 2: `llm` (OpenAI-compatible endpoints and their fallback chain) and `agent` (the
 * edge agent, with its rules around every intent and tool call). Every key has a default, so an
 * empty config runs the agent with no model: deterministic intents work, natural-language ones fail fast.
 */

const EndpointName = Type.String({ pattern: '^[a-z][a-z0-9_-]*$', maxLength: 64 });
const SkillName = Type.Union([
  Type.Literal('navigate_to'),
  Type.Literal('run_policy'),
  Type.Literal('start_loop'),
  Type.Literal('read_topic'),
  Type.Literal('publish'),
  Type.Literal('call_service'),
  Type.Literal('call_action'),
  Type.Literal('stop'),
]);

/** An action the agent may send goals to, with its type and how long a goal may take. */
const AgentAction = Type.Object(
  {
    type: Type.String({
      pattern: '^[A-Za-z0-9_]+/action/[A-Za-z0-9_]+$',
      description: 'The action type, e.g. nav2_msgs/action/NavigateToPose.',
    }),
    timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 86_400,
      default: 600,
      description: 'The most a goal may take: past it, the goal is cancelled and the call fails.',
    }),
  },
  { additionalProperties: false },
);

/** The longest delay setTimeout keeps: a longer one fires after 1 ms, so the timeouts below stop there. */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** Where an intent or an approval comes from (the contract's PolicyContext.source). */
const Source = Type.Union([
  Type.Literal('http'),
  Type.Literal('mqtt'),
  Type.Literal('ros'),
  Type.Literal('zenoh'),
  Type.Literal('cli'),
  Type.Literal('mcp'),
  Type.Literal('internal'),
]);

export const LlmEndpointConfig = Type.Object(
  {
    name: EndpointName,
    base_url: Type.String({
      minLength: 1,
      description:
        'OpenAI-compatible base URL, e.g. http://localhost:8000/v1 (vLLM), http://localhost:11434/v1 (Ollama).',
    }),
    model: Type.String({ minLength: 1, description: 'Model id the endpoint serves (GET /v1/models).' }),
    api_key_env: Type.String({
      default: '',
      description: 'Environment variable holding the API key; empty for none (local vLLM).',
    }),
    connect_timeout_ms: Type.Integer({
      minimum: 1,
      maximum: MAX_TIMER_MS,
      default: 3000,
      description: 'Until response headers arrive.',
    }),
    first_token_timeout_ms: Type.Integer({
      minimum: 1,
      maximum: MAX_TIMER_MS,
      default: 20_000,
      description: 'From the response to the first streamed token.',
    }),
    idle_timeout_ms: Type.Integer({
      minimum: 1,
      maximum: MAX_TIMER_MS,
      default: 20_000,
      description: 'Longest silence between two streamed chunks.',
    }),
    request_timeout_ms: Type.Integer({
      minimum: 1,
      maximum: MAX_TIMER_MS,
      default: 120_000,
      description: 'Whole request.',
    }),
    retries: Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 2,
      description: 'Retries on this endpoint before falling back to the next.',
    }),
    backoff_ms: Type.Integer({
      minimum: 0,
      maximum: MAX_TIMER_MS,
      default: 250,
      description: 'First retry delay; doubles per retry, with jitter.',
    }),
    backoff_max_ms: Type.Integer({ minimum: 0, maximum: MAX_TIMER_MS, default: 4000 }),
    cooldown_ms: Type.Integer({
      minimum: 0,
      default: 10_000,
      description: 'After an endpoint exhausts its retries, requests skip it this long (fail fast).',
    }),
    max_tokens: Type.Integer({ minimum: 1, default: 1024 }),
    temperature: Type.Number({ minimum: 0, maximum: 2, default: 0 }),
    context_window: Type.Integer({ minimum: 256, default: 32_768 }),
    structured_outputs: Type.Union(
      [Type.Literal('response_format'), Type.Literal('vllm'), Type.Literal('json_object')],
      {
        default: 'response_format',
        description:
          "How a JSON schema is asked for: OpenAI's response_format json_schema (vLLM, llama-server), vLLM's structured_outputs, " +
          "or json_object with the schema beside it (llama-cpp-python's server, which answers json_schema with HTTP 500).",
      },
    ),
    max_tokens_field: Type.Union([Type.Literal('max_tokens'), Type.Literal('max_completion_tokens')], {
      default: 'max_tokens',
      description:
        "The request key the endpoint's max_tokens goes in: max_tokens, which every local server reads (llama-cpp-python's " +
        "ignores max_completion_tokens), or max_completion_tokens, which OpenAI's reasoning models require.",
    }),
  },
  { additionalProperties: false },
);

export const LlmConfig = Section(
  {
    endpoints: Type.Array(LlmEndpointConfig, {
      default: [],
      description: 'Tried in order: the fallback chain. Empty: no System 2.',
    }),
    serve_queries: Type.Boolean({
      default: true,
      description: 'Serve ai/inference/llm/<endpoint> and ai/inference/llm/default on the bus.',
    }),
    max_tool_argument_bytes: Type.Integer({
      minimum: 1024,
      default: 262_144,
      description:
        'Largest argument text of one tool call, bytes; a reply streaming more is aborted at once and the next endpoint tried.',
    }),
    max_reply_bytes: Type.Integer({
      minimum: 4096,
      default: 4_194_304,
      description:
        'Largest model reply (text, reasoning and tool calls), bytes; enforced while streaming, like max_tool_argument_bytes.',
    }),
  },
  'System 2: OpenAI-compatible model endpoints (vLLM, llama.cpp, Ollama, cloud).',
);

/** `names`: ROS 2 names (topics, actions), resolved as the config's other names are; else the daemon's own. */
const Access = (description: string, deny: string[] = [], names = true) =>
  Section(
    {
      allow: Type.Array(names ? RosGlob() : Type.String({ minLength: 1 }), {
        default: ['**'],
        description: 'Globs; a name must match one.',
      }),
      deny: Type.Array(names ? RosGlob() : Type.String({ minLength: 1 }), {
        default: deny,
        description: 'Globs; a match is refused even if allowed.',
      }),
    },
    description,
  );

export const AgentRulesConfig = Section(
  {
    topics: Access('Topics read_topic may read and publish may write.'),
    // The daemon's own queries are not the model's by default: the recorder's pause would leave the robot
    // unrecorded, and agent/stop is the operator's latching stop (the model has the stop skill).
    services: Access(
      "Services call_service may call; the daemon's own (recorder/**, agent/**) are denied by default.",
      ['recorder/**', 'agent/**'],
      false,
    ),
    skills: Access('Skills an intent or a tool call may use.', [], false),
    actions: Access('Actions call_action may send goals to (a goal with a pose is also held to the geofence).'),
    approval: Section(
      {
        outside_sources: Type.Array(Source, {
          default: ['mcp'],
          description:
            "Where outside agents' calls come from: an approval through one of these may not approve a run started through one of them.",
        }),
        outside_may_approve: Type.Union([Type.Literal('not_outside'), Type.Literal('not_own')], {
          default: 'not_outside',
          description:
            "not_outside: an outside caller approves only runs started elsewhere (the operator's, central's); not_own: also another outside caller's runs, never its own.",
        }),
      },
      'Who may approve a run awaiting approval: the operator (API, page, CLI) and central any run; an outside agent (MCP) never the runs of outside agents.',
    ),
    quotas: Section(
      {
        max_tool_calls: Type.Integer({ minimum: 1, default: 32 }),
        max_tokens: Type.Integer({ minimum: 1, default: 60_000 }),
        max_wall_s: Type.Number({ exclusiveMinimum: 0, default: 900 }),
      },
      "Per run; an intent's policy_ctx may lower them, never raise them.",
    ),
    injection: Section(
      {
        on_suspect: Type.Union([Type.Literal('flag'), Type.Literal('require_approval')], {
          default: 'require_approval',
          description:
            'After a tool result that reads like instructions: flag it only, or also require approval for motion skills for the rest of the run.',
        }),
      },
      'Prompt-injection defences.',
    ),
  },
  "The agent's rules: what an intent or a tool call may use and touch, who may approve, per-run quotas.",
);

export const AgentConfig = Section(
  {
    enabled: Type.Boolean({ default: true }),
    name: Type.String({ minLength: 1, default: 'edge-agent' }),
    system_prompt: Type.String({
      default:
        "You are the planner of a mobile robot. Use the tools to achieve the operator's goal, then answer in one short sentence.",
    }),
    skills: Type.Array(SkillName, {
      default: [
        'navigate_to',
        'run_policy',
        'start_loop',
        'read_topic',
        'publish',
        'call_service',
        'call_action',
        'stop',
      ],
    }),
    require_approval: Type.Array(SkillName, {
      default: [],
      description: 'Skills that pause the run until a person approves.',
    }),
    approval_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      default: 3600,
      description: 'An unanswered approval ends the run.',
    }),
    max_refines: Type.Integer({
      minimum: 0,
      maximum: 10,
      default: 2,
      description: 'Retries after a failed validator.',
    }),
    intent_topic: Type.Union([Type.Literal(''), RosName()], {
      default: '/auraison/intents',
      description: 'std_msgs/msg/String topic carrying Intent JSON; empty to disable.',
    }),
    named_poses: Type.Record(
      Type.String(),
      Type.Object({ x: Type.Number(), y: Type.Number() }, { additionalProperties: false }),
      {
        default: {},
        description: "Named places the model may refer to (added to the sim's).",
      },
    ),
    rules: AgentRulesConfig,
    keep_finished_runs: Type.Integer({
      minimum: 1,
      default: 1000,
      description:
        'Finished runs kept in memory (the most recent) for the API; older ones stay in the journal (`auraison-edge runs show`).',
    }),
    navigation: Section(
      {
        tolerance_m: Type.Number({
          exclusiveMinimum: 0,
          default: 0.2,
          description: "navigate_to arrives within this; also goal_reached's default tolerance.",
        }),
        timeout_s: Type.Number({ exclusiveMinimum: 0, default: 300 }),
        odom_timeout_ms: Type.Integer({
          minimum: 50,
          maximum: 600_000,
          default: 500,
          description:
            'Wall milliseconds without odometry after which the navigator stops the robot and the goal ends no_data (stretched by 1 / sim.speed for the built-in sim below real time). Raise it for a simulator of your own (Gazebo) that may run well below real time.',
        }),
        odom_topic: RosName({
          default: '/odom',
          description: 'nav_msgs/msg/Odometry the navigator and goal_reached read.',
        }),
        nav2_action: Type.Union([Type.Literal(''), RosName()], {
          default: '',
          description:
            "A Nav2 NavigateToPose action (e.g. /navigate_to_pose) that navigate_to sends its goals to instead of the agent's own Navigator; empty for the built-in one.",
        }),
      },
      "navigate_to, driven by the agent's own Navigator or by Nav2.",
    ),
    read_topic: Section(
      {
        timeout_ms: Type.Integer({ minimum: 1, maximum: 600_000, default: 2000 }),
        max_chars: Type.Integer({
          minimum: 200,
          default: 2000,
          description: 'Larger decoded messages are summarized.',
        }),
      },
      'read_topic.',
    ),
    service_timeout_ms: Type.Integer({
      minimum: 1,
      maximum: 600_000,
      default: 5000,
      description: 'How long call_service waits for a reply.',
    }),
    actions: Type.Record(Type.String({ minLength: 1 }), AgentAction, {
      [NAME_KEYS_KEYWORD]: true,
      default: {},
      description:
        'Actions call_action knows by name, with their type and timeout (agent.rules.actions decides which it may use); an action not listed needs its type in the call and gets action_timeout_s.',
    }),
    action_timeout_s: Type.Number({
      exclusiveMinimum: 0,
      maximum: 86_400,
      default: 600,
      description: 'How long a goal of an action not in agent.actions may take.',
    }),
  },
  'The edge agent: intents, skills, runs.',
);

export const SYSTEM2_SECTIONS = { llm: LlmConfig, agent: AgentConfig } satisfies Type.TProperties;

export type LlmSettings = Static<typeof LlmConfig>;
export type LlmEndpointSettings = Static<typeof LlmEndpointConfig>;
export type AgentSettings = Static<typeof AgentConfig>;
export type AgentRulesSettings = Static<typeof AgentRulesConfig>;
export type SkillName = Static<typeof SkillName>;

/**
 * What no one key's schema can see in llm.endpoints: a base_url that is no http(s) URL (found at start, not
 * at the first request), credentials in it beside api_key_env (both would be the Authorization header),
 * and two endpoints of one name (each is the bus query ai/inference/llm/<name>).
 */
export function system2Issues(config: { llm: LlmSettings }): { path: string; message: string }[] {
  const issues: { path: string; message: string }[] = [];
  config.llm.endpoints.forEach((endpoint, i) => {
    const first = config.llm.endpoints.findIndex((e) => e.name === endpoint.name);
    if (first !== i)
      issues.push({
        path: `llm.endpoints[${i}].name`,
        message: `${JSON.stringify(endpoint.name)} is the name of llm.endpoints[${first}] too: give each endpoint its own`,
      });
    const problem = baseUrlProblem(endpoint.base_url);
    if (problem) issues.push({ path: `llm.endpoints[${i}].base_url`, message: problem });
    else if (endpoint.api_key_env !== '' && splitCredentials(endpoint.base_url).authorization) {
      issues.push({
        path: `llm.endpoints[${i}].api_key_env`,
        message:
          'set, and base_url holds credentials too: both go in the Authorization header (Bearer and Basic); keep one',
      });
    }
  });
  return issues;
}
