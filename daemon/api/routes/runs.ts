import type { FastifyPluginAsync } from 'fastify';
import Type, { type Static } from 'typebox';
import { AgentError } from '../../agent/index.ts';
import { TERMINAL } from '../../agent/index.ts';
import { newId } from '../../util/index.ts';
import { Id, Intent, NsTime, PolicyContext, RunStatus } from '../../contract/index.ts';
import type { AgentService } from '../../contract/index.ts';
import { ValidationError } from '../../util/index.ts';
import { findByPrefix, prefixProblem } from '../../util/index.ts';
import { HttpError, validationHttpError } from '../errors.ts';
import { requireAgent } from '../services.ts';
import type { RouteContext } from './route-context.ts';

/** Where an intent or an approval came through: the API's own clients, the CLI, or the MCP gateway. */
const ApiSource = Type.Union([Type.Literal('http'), Type.Literal('cli'), Type.Literal('mcp')], {
  description: 'cli when sent by auraison-edge, mcp when by the MCP gateway',
});

/** POST /intents: an Intent whose id, params, targets and policy context may be left for the daemon to fill. */
export const IntentBody = Type.Object(
  {
    intent_id: Type.Optional(Id),
    type: Intent.properties.type,
    params: Type.Optional(Intent.properties.params),
    targets: Type.Optional(Intent.properties.targets),
    policy_ctx: Type.Optional(
      Type.Object(
        {
          actor: Type.Optional(PolicyContext.properties.actor),
          source: Type.Optional(ApiSource),
          requires_approval: PolicyContext.properties.requires_approval,
          max_tool_calls: PolicyContext.properties.max_tool_calls,
          max_tokens: PolicyContext.properties.max_tokens,
          max_wall_s: PolicyContext.properties.max_wall_s,
        },
        { additionalProperties: false },
      ),
    ),
    created_at: Type.Optional(NsTime),
  },
  { additionalProperties: false },
);

const RunParams = Type.Object(
  {
    id: Type.String({ pattern: '^[0-9a-fA-F-]{1,36}$', description: 'a run id, or a unique prefix of one' }),
  },
  { additionalProperties: false },
);
const RunsQuery = Type.Object(
  { status: Type.Optional(RunStatus), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }) },
  { additionalProperties: false },
);
const ApproveBody = Type.Object(
  {
    by: Type.String({ minLength: 1, maxLength: 128, default: 'api' }),
    // Only ever lowers the caller: an API client is the operator already, who may approve any run.
    source: Type.Optional(ApiSource),
  },
  { additionalProperties: false },
);
const CancelBody = Type.Object(
  {
    by: Type.String({ minLength: 1, maxLength: 128, default: 'api' }),
    reason: Type.Optional(Type.String({ maxLength: 1024 })),
  },
  { additionalProperties: false },
);

/** What every route naming a run by id answers besides its own. */
const RUN_ID_STATUSES = {
  400: '`ambiguous`: the prefix names several runs (each is named)',
  404: '`not_found`: no run has that id or prefix',
  503: '`unavailable`: the agent is not running',
};

/** Intents and runs, over the agent service (503 when the agent is not running). */
export const runRoutes: FastifyPluginAsync<RouteContext> = async (app, { ctx }) => {
  app.post<{ Body: Static<typeof IntentBody> }>(
    '/intents',
    {
      schema: {
        body: IntentBody,
        summary: 'Submits an intent: the agent makes a run of it.',
        description:
          'Left out, `intent_id` is made, `params` is {}, `targets` is [] (this robot), `policy_ctx.actor` is ' +
          '`anonymous` and `policy_ctx.source` is `http`. The same intent again (same `intent_id`) is answered ' +
          'with the run it made.',
        reply: '201 {run}; 200 {run} for a repeat of an intent already taken',
        statuses: {
          409: '`intent_id` already used with a different type, params, targets or policy_ctx',
          421: '`wrong_target`: `targets` name neither this robot (`robot.id`) nor one of its resources',
          503: '`unavailable`: the agent is not running (the message says why)',
          507: '`insufficient_storage`: the journal cannot make it durable (disk full); nothing was accepted',
        },
      },
    },
    async (request, reply) => {
      const agent = requireAgent(ctx);
      const { policy_ctx: p = {}, ...rest } = request.body;
      const source = p.source ?? 'http';
      const intent = {
        ...rest,
        intent_id: rest.intent_id ?? newId(),
        params: rest.params ?? {},
        targets: rest.targets ?? [],
        policy_ctx: { ...p, actor: p.actor ?? 'anonymous', source },
      };
      const { run, replayed } = await agentCall(() => agent.submit(intent, source), 'body');
      // A repeat of an intent already taken is answered with its run, as 200: nothing new was created.
      return reply.code(replayed ? 200 : 201).send({ run });
    },
  );

  app.get<{ Querystring: Static<typeof RunsQuery> }>(
    '/runs',
    {
      schema: {
        querystring: RunsQuery,
        summary: 'The runs the agent holds, newest first.',
        reply: '{runs: [run]}',
        statuses: { 503: '`unavailable`: the agent is not running' },
      },
    },
    async (request) => {
      const { status, limit } = request.query;
      return { runs: requireAgent(ctx).listRuns({ ...(status ? { status } : {}), limit }) };
    },
  );

  app.get<{ Params: Static<typeof RunParams> }>(
    '/runs/:id',
    {
      schema: {
        params: RunParams,
        summary: 'A run and its events.',
        description: 'A short run id (its first 13 characters) works wherever a run id does.',
        reply: '{run, events}',
        statuses: RUN_ID_STATUSES,
      },
    },
    async (request) => {
      const agent = requireAgent(ctx);
      return agent.getRun(runIdOf(agent, request.params.id))!;
    },
  );

  app.post<{ Params: Static<typeof RunParams>; Body: Static<typeof ApproveBody> }>(
    '/runs/:id/approve',
    {
      schema: {
        params: RunParams,
        body: ApproveBody,
        summary: 'Resumes a run that waits for approval.',
        reply: '{run}',
        statuses: {
          ...RUN_ID_STATUSES,
          403: "`source` is an outside agent's and the run was started by one (`agent.rules.approval`, docs/mcp.md)",
          409: '`conflict`: the run is not awaiting approval',
          507: '`insufficient_storage`: the journal cannot record the approval (disk full)',
        },
      },
    },
    async (request) => {
      const agent = requireAgent(ctx);
      const id = runIdOf(agent, request.params.id);
      const found = agent.getRun(id)!;
      if (found.run.status !== 'awaiting_approval')
        throw new HttpError('conflict', `run ${id} is ${found.run.status}, not awaiting_approval: nothing to approve`);
      return { run: await agentCall(() => agent.approve(id, request.body.by, request.body.source ?? 'http'), 'body') };
    },
  );

  app.post<{ Params: Static<typeof RunParams>; Body: Static<typeof CancelBody> }>(
    '/runs/:id/cancel',
    {
      schema: {
        params: RunParams,
        body: CancelBody,
        summary: 'Ends a run.',
        reply: '{run}',
        statuses: { ...RUN_ID_STATUSES, 409: '`conflict`: the run already ended' },
      },
    },
    async (request) => {
      const agent = requireAgent(ctx);
      const id = runIdOf(agent, request.params.id);
      const found = agent.getRun(id)!;
      if (TERMINAL.has(found.run.status))
        throw new HttpError('conflict', `run ${id} already ended (${found.run.status}): nothing to cancel`);
      return { run: await agentCall(() => agent.cancel(id, request.body.by, request.body.reason), 'body') };
    },
  );
};

/**
 * The run an id or a unique prefix of one names, among the runs the agent holds: 404 when none, 400 naming
 * each when several (a prefix of the ms the runs share, or too short).
 */
function runIdOf(agent: AgentService, idOrPrefix: string): string {
  if (agent.getRun(idOrPrefix)) return idOrPrefix;
  const found = findByPrefix(
    agent.listRuns({ limit: Number.MAX_SAFE_INTEGER }).map((r) => r.run_id),
    idOrPrefix,
  );
  if (found.id !== undefined) return found.id;
  const problem = prefixProblem(idOrPrefix, found.matches);
  if (found.matches.length > 0) throw new HttpError('ambiguous', problem);
  throw new HttpError('not_found', `${problem}: list runs with GET /runs`);
}

/**
 * The agent's errors as replies: its ValidationErrors are 400s naming the path, an AgentError its code (`conflict`,
 * `not_found`, ...) with the catalogue's status, which is the agent's own.
 */
async function agentCall<T>(call: () => Promise<T>, part: string): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ValidationError) throw validationHttpError(part, error);
    if (error instanceof AgentError) throw new HttpError(error.code, error.message);
    throw error;
  }
}
