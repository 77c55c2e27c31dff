import Type, { type Static } from 'typebox';
import { Section } from '../section.ts';

/** The MCP tools an outside agent may call; `stop` is always exposed whatever `tools` says. */
export const MCP_TOOL_NAMES = [
  'read_topic',
  'graph',
  'query',
  'bag_info',
  'runs',
  'stop',
  'submit_intent',
  'approve',
  'cancel',
  'publish',
  'call_service',
  'call_action',
] as const;

export type McpToolName = (typeof MCP_TOOL_NAMES)[number];

export const McpConfig = Section(
  {
    enabled: Type.Boolean({
      default: true,
      description:
        'Serve the MCP gateway at /mcp on the local API (same host, port and token), and through the stop listener when it runs (mcp_url in run/api.json: a stop tool call stops there without waiting for the event loop); needs api.enabled.',
    }),
    tools: Type.Array(Type.Union(MCP_TOOL_NAMES.map((name) => Type.Literal(name))), {
      uniqueItems: true,
      default: ['read_topic', 'graph', 'query', 'bag_info', 'runs', 'stop'],
      description:
        'The tools an MCP client sees and may call. Read-only by default; stop is always exposed. Acting tools (publish, call_service, call_action, submit_intent, approve, cancel) run as intents under the agent policy.',
    }),
    max_calls_per_minute: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 120,
      description:
        'Most tool calls one MCP client (one session) may make in a minute; more are refused and counted (stop excepted).',
    }),
    max_calls_per_minute_total: Type.Integer({
      minimum: 1,
      maximum: 100_000,
      default: 600,
      description:
        'Most tool calls all MCP sessions together may make in a minute, so opening more sessions buys no more calls; more are refused and counted (stop excepted).',
    }),
    max_sessions: Type.Integer({
      minimum: 1,
      maximum: 1000,
      default: 16,
      description: 'Most MCP sessions open at once; a new one past this closes the one idle longest.',
    }),
  },
  'The MCP gateway: tools and resources for outside agents, behind the agent policy.',
);

export const MCP_SECTIONS = { mcp: McpConfig } satisfies Type.TProperties;

export type McpSettings = Static<typeof McpConfig>;
