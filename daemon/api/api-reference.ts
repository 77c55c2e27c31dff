import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifySchema, RouteOptions } from 'fastify';
import { ActionGoals } from '../actions/index.ts';
import { Bus, DefinitionsRegistry, MessageCodec, RobotGraph } from '../bus/index.ts';
import { parseConfigText } from '../config/index.ts';
import { DurableJournal } from '../journal/index.ts';
import { ProvidedPorts, type Component } from '../lifecycle/index.ts';
import { silentLogger } from '../log.ts';
import { HaltAuthority } from '../halt/index.ts';
import { RobotInputs } from '../motion/index.ts';
import { API_ERRORS, type ApiErrorEntry } from './error-codes.ts';
import './route-docs.ts';
import { buildApiServer } from './server.ts';

/** The reference's path in the repository, which `npm run docs:api` writes and a test holds to the generator. */
export const API_REFERENCE = 'docs/api-reference.md';

/** A JSON schema as TypeBox writes it: the keys the short form reads. */
interface JsonSchema {
  type?: string;
  const?: unknown;
  anyOf?: JsonSchema[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  patternProperties?: Record<string, JsonSchema>;
  additionalProperties?: boolean | JsonSchema;
  description?: string;
  default?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  maxItems?: number;
  'x-ros-name'?: string;
}

/**
 * The API's routes as the daemon registers them: the server built over a context of its own (config defaults
 * with MCP on, so /mcp is listed), never listening, then closed.
 */
export async function documentedRoutes(): Promise<RouteOptions[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'api-reference-'));
  const journal = new DurableJournal({ dir: join(dataDir, 'log') });
  try {
    const config = parseConfigText('mcp:\n  enabled: true\n', 'api-reference.yaml', {});
    const bus = new Bus();
    const definitions = new DefinitionsRegistry();
    const log = silentLogger();
    const components = new Map<string, Component>();
    const ports = new ProvidedPorts();
    const haltAuthority = new HaltAuthority({
      bus,
      codec: new MessageCodec(definitions),
      config,
      dataDir,
      journal: () => journal,
      log,
    });
    const server = await buildApiServer(
      {
        config,
        bus,
        definitions,
        graph: new RobotGraph(),
        robot: new RobotInputs({
          bus,
          graph: new RobotGraph(),
          codec: new MessageCodec(definitions),
          settings: undefined,
          log,
        }),
        log,
        dataDir,
        journal,
        haltAuthority,
        actionGoals: new ActionGoals(),
        daemonStatus: () => {
          throw new Error('the API reference reads the routes only');
        },
        ports,
        provide: ports.provide,
        components,
      },
      config.api,
    );
    await server.app.ready();
    await server.close();
    return [...server.routes];
  } finally {
    await journal.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** docs/api-reference.md from the routes: a table of them all, then a section per route. */
export function renderApiReference(routes: readonly RouteOptions[]): string {
  const gets = new Set(routes.filter((r) => r.method === 'GET').map((r) => r.url));
  const shown = routes.filter((r) => !(r.method === 'HEAD' && gets.has(r.url)));
  const out = [
    '# HTTP API reference',
    '',
    '<!-- Written by `npm run docs:api` from the route schemas (daemon/api/routes, daemon/mcp): edit those, not this. -->',
    '',
    "The daemon's local HTTP API, route by route, as its schemas declare it. The token, the guard against web pages,",
    'limits and the stop listener are in [the API guide](api.md).',
    '',
    'For every route: a body is `application/json`; an error reply is `{error, message, issues?}` with a code from',
    '[Error codes](#error-codes); input the schema refuses (any query key where none is listed) is 400 `bad_request`',
    'naming the failing path (`body.sql`); no token when `api.token` is set is 401 (unless the route needs none); a',
    'web page on another origin is 403 `cross_site`; and a request while the daemon shuts down is 503. A GET route',
    'also answers HEAD. A field marked `?` may be left out. Each route lists the other statuses it answers.',
    '',
    `Routes: ${shown.map((r) => `[\`${methods(r)} ${r.url}\`](#${anchor(`${methods(r)} ${r.url}`)})`).join(',\n')}.`,
  ];
  let above: string | undefined;
  for (const route of shown) {
    const { description } = schemaOf(route);
    out.push('', ...section(route, description !== above));
    above = description;
  }
  out.push('', ...errorCodesSection());
  return `${out.join('\n')}\n`;
}

/** The catalogue (error-codes.ts) as a table: every code an error reply's `error` can hold. */
function errorCodesSection(): string[] {
  const entries: [string, ApiErrorEntry][] = Object.entries(API_ERRORS);
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  const status = ({ status, alsoStatus }: ApiErrorEntry) =>
    alsoStatus ? `${status}; ${alsoStatus.status} when ${alsoStatus.when}` : String(status);
  return [
    '## Error codes',
    '',
    "Every code an error reply's `error` can hold, always with the status given here. `message` says what was wrong",
    'and what to do. Besides these: a VLA policy served by another program may answer a code of its own (passed on',
    "with 400); an unexpected failure answers 500 with its cause's code lower-cased (fastify's `fst_err_...`) when it",
    'has one; and a request while the daemon shuts down gets fastify\'s 503 body, `{error: "Service Unavailable"}`.',
    '',
    '| code | status | meaning; what to do |',
    '| --- | --- | --- |',
    ...entries.map(([code, e]) => `| \`${code}\` | ${status(e)} | ${cell(e.meaning)} ${cell(e.action)} |`),
  ];
}

/** A route's section; `describe` false leaves out a description the route above already gave (/mcp's three). */
function section(route: RouteOptions, describe: boolean): string[] {
  const schema = schemaOf(route);
  const lines = [`## ${methods(route)} ${route.url}`, ''];
  if (schema.summary) lines.push(schema.summary, '');
  if (schema.description && describe) lines.push(schema.description, '');
  const parts: [string, unknown][] = [
    ['Path', schema.params],
    ['Query', schema.querystring],
    ['Headers', schema.headers],
    ['Body (JSON)', schema.body],
    ['Body (JSON, optional: none is `{}`)', schema.optionalBody],
  ];
  for (const [label, part] of parts) {
    if (part === undefined) continue;
    const fields = fieldLines(part as JsonSchema, '');
    if (fields.length > 0) lines.push(`${label}:`, '', ...fields, '');
  }
  if (schema.reply) lines.push(`Reply: \`${schema.reply}\``, '');
  const statuses = Object.entries(schema.statuses ?? {});
  if (statuses.length > 0)
    lines.push('Other statuses:', '', ...statuses.map(([code, when]) => `- ${code}: ${when}`), '');
  return lines.slice(0, -1);
}

/** The route's methods: one, or several joined (fastify takes a list). */
function methods(route: RouteOptions): string {
  return ([] as string[]).concat(route.method).join(', ');
}

function schemaOf(route: RouteOptions): FastifySchema {
  return route.schema ?? {};
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens. */
function anchor(heading: string): string {
  return heading
    .toLowerCase()
    .replace(/[^a-z0-9 _-]/g, '')
    .replace(/ /g, '-');
}

/** One line per field of an object schema, nested objects' fields under their dotted path. */
function fieldLines(schema: JsonSchema, prefix: string): string[] {
  const properties = schema.properties ?? {};
  if (Object.keys(properties).length === 0) return schema.description ? [`- ${schema.description}`] : [];
  const required = new Set(schema.required ?? []);
  const lines: string[] = [];
  for (const [name, field] of Object.entries(properties)) {
    const path = `${prefix}${name}`;
    const optional = !required.has(name) || field.default !== undefined ? '?' : '';
    const notes = [
      field.default !== undefined ? `default ${JSON.stringify(field.default)}` : undefined,
      field.description,
    ].filter((n) => n !== undefined);
    lines.push(`- \`${path}${optional}\`: ${shortType(field)}${notes.length > 0 ? `; ${notes.join('; ')}` : ''}`);
    if (field.properties) lines.push(...fieldLines(field, `${path}.`).map((l) => `  ${l}`));
  }
  return lines;
}

/** A schema's type in a few words: `integer 1..600000`, `string, at most 128 chars`, `"http" | "cli"`. */
function shortType(schema: JsonSchema): string {
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  if (schema.anyOf) return schema.anyOf.map(shortType).join(' | ');
  if (schema['x-ros-name']) return `ROS 2 name${chars(schema)}`;
  switch (schema.type) {
    case 'string':
      return `string${chars(schema)}${schema.pattern && !schema.description ? ` matching \`${schema.pattern}\`` : ''}`;
    case 'integer':
    case 'number':
      return `${schema.type}${range(schema)}`;
    case 'array': {
      const most = schema.maxItems === undefined ? '' : `, at most ${schema.maxItems} items`;
      return `[${schema.items ? shortType(schema.items) : 'any JSON'}]${most}`;
    }
    case 'object':
      return schema.properties ? 'object' : 'object of any JSON';
    case undefined:
      return 'any JSON';
    default:
      return schema.type;
  }
}

function chars(schema: JsonSchema): string {
  const { minLength: min, maxLength: max } = schema;
  if (min !== undefined && max !== undefined) return `, ${min}..${max} chars`;
  if (max !== undefined) return `, at most ${max} chars`;
  if (min !== undefined) return `, at least ${min} chars`;
  return '';
}

function range(schema: JsonSchema): string {
  const { minimum: min, maximum: max, exclusiveMinimum: above } = schema;
  if (min !== undefined && max !== undefined) return ` ${min}..${max}`;
  const bounds = [
    min === undefined ? undefined : `>=${min}`,
    above === undefined ? undefined : `>${above}`,
    max === undefined ? undefined : `<=${max}`,
  ].filter((b) => b !== undefined);
  return bounds.length === 0 ? '' : ` ${bounds.join(', ')}`;
}
