import type { Bus, GraphEndpoint } from '../bus/index.ts';
import { actionEndpoints, actionOfService, actionTypeOfSendGoal } from './action-names.ts';

/** An endpoint of an action: the node that serves or uses it, and the adapter that saw it. */
export interface ActionEndpoint {
  node: string;
  source: string;
}

/** One action as `ros2 action list -t` and `ros2 action info` show it. */
export interface ActionInfo {
  name: string;
  /** The action types announced for it (more than one is a mismatch in the graph). */
  types: string[];
  servers: ActionEndpoint[];
  clients: ActionEndpoint[];
  /** Whether a goal can be sent to it from the daemon now: its send_goal is served on the bus. */
  onBus: boolean;
}

const FEEDBACK_SUFFIX = '_FeedbackMessage';

/**
 * The actions of the robot's graph and the bus, by name, sorted: a server or client is a node's send_goal service
 * or client in the graph (typed `<type>_SendGoal`); an action served on the bus and by no node of the graph (the
 * sim's) counts as one server of the daemon's. A type is also read from the action's feedback topic on the bus.
 */
export function listActions(bus: Bus, endpoints: readonly GraphEndpoint[]): ActionInfo[] {
  const actions = new Map<string, ActionInfo>();
  const entry = (name: string): ActionInfo => {
    let info = actions.get(name);
    if (!info) actions.set(name, (info = { name, types: [], servers: [], clients: [], onBus: false }));
    return info;
  };
  const addType = (info: ActionInfo, type: string | undefined) => {
    if (type !== undefined && !info.types.includes(type)) info.types.push(type);
  };
  for (const e of endpoints) {
    if (e.kind !== 'service' && e.kind !== 'client') continue;
    const name = actionOfService(e.name);
    if (name === undefined) continue;
    const info = entry(name);
    addType(info, actionTypeOfSendGoal(e.type));
    (e.kind === 'service' ? info.servers : info.clients).push({ node: e.node, source: e.source });
  }
  for (const queryable of bus.queryables()) {
    const name = actionOfService(queryable);
    if (name === undefined) continue;
    const info = entry(name);
    info.onBus = true;
    const feedbackType = bus.topicType(actionEndpoints(name, '').feedback);
    if (feedbackType?.endsWith(FEEDBACK_SUFFIX)) addType(info, feedbackType.slice(0, -FEEDBACK_SUFFIX.length));
    // A server a bridge brings in is in the graph already; one only on the bus is the daemon's own.
    if (info.servers.length === 0) info.servers.push({ node: '(the daemon)', source: 'bus' });
  }
  return [...actions.values()].sort((a, b) => a.name.localeCompare(b.name));
}
