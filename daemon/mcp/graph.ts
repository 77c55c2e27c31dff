import type { ApiCaller } from './api-caller.ts';

/** The robot's graph as the API shows it: topics and queryables from GET /status, actions from GET /actions. */
export async function readGraph(api: ApiCaller): Promise<{ topics: unknown; queryables: unknown; actions: unknown }> {
  const status = await api.get<Record<string, unknown>>('/status');
  const { actions } = await api.get<{ actions: unknown }>('/actions');
  return { topics: status.topics, queryables: status.queryables, actions };
}
