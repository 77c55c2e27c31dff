import { randomBytes } from 'node:crypto';
import type { DoubleNode } from './node.ts';
import type { AnyTypeClass, RosWorld } from './world.ts';
import { waitFor } from '../../helpers/wait.ts';

type Plain = Record<string, unknown>;
type UUID = { uuid: number[] };

/** action_msgs/msg/GoalStatus (rclnodejs lib/action/interfaces.js). */
export const STATUS = { accepted: 1, executing: 2, canceling: 3, succeeded: 4, canceled: 5, aborted: 6 } as const;
/** GoalResponse and CancelResponse (lib/action/response.js). */
export const RESPONSE = { REJECT: 1, ACCEPT: 2 } as const;

const hex = (id: UUID) => Buffer.from(id.uuid).toString('hex');

/**
 * A goal as rclnodejs 2.2.0 hands it to a goal handle (`handle.request`, lib/action/server.js): a generated wrapper
 * whose fields are getters on its class and whose own keys are `_wrapperFields` and `_refObject`; toPlainObject()
 * gives the message. The goal callback gets the plain object.
 */
function wrapper(plain: Plain): Plain {
  const wrapped = Object.create({ toPlainObject: () => structuredClone(plain) }) as Plain;
  for (const key of Object.keys(plain)) Object.defineProperty(wrapped, key, { get: () => plain[key] });
  return Object.assign(wrapped, { _wrapperFields: {}, _refObject: {} });
}

/** ServerGoalHandle (lib/action/server_goal_handle.js): the goal a server's callbacks act on. */
export class DoubleServerGoalHandle {
  readonly request: Plain;
  readonly goalId: UUID;
  status: number = STATUS.accepted;
  #server: DoubleActionServer;
  feedbackTo: ((feedback: Plain) => void) | undefined;
  result: Promise<{ status: number; result: Plain }>;
  settle!: (value: { status: number; result: Plain }) => void;

  constructor(server: DoubleActionServer, goalId: UUID, request: Plain) {
    this.#server = server;
    this.goalId = goalId;
    this.request = wrapper(request);
    this.result = new Promise((resolve) => (this.settle = resolve));
  }

  get isActive(): boolean {
    return this.status < STATUS.succeeded;
  }

  get isCancelRequested(): boolean {
    return this.status === STATUS.canceling;
  }

  execute(callback?: (handle: DoubleServerGoalHandle) => Promise<Plain> | Plain): void {
    if (this.status === STATUS.accepted) this.status = STATUS.executing;
    void this.#server.run(this, callback);
  }

  publishFeedback(feedback: Plain): void {
    if (this.isActive) setImmediate(() => this.feedbackTo?.(feedback));
  }

  succeed(): void {
    this.#end(STATUS.succeeded);
  }

  abort(): void {
    this.#end(STATUS.aborted);
  }

  canceled(): void {
    this.#end(STATUS.canceled);
  }

  #end(status: number): void {
    // rcl_action refuses a transition from a terminal state, as the double does.
    if (!this.isActive) throw new Error(`goal ${hex(this.goalId)}: no transition from status ${this.status}`);
    this.status = status;
  }
}

type ExecuteCallback = (handle: DoubleServerGoalHandle) => Promise<Plain> | Plain;
type GoalCallback = (goal: Plain) => number;
type AcceptedCallback = (handle: DoubleServerGoalHandle) => void;
type CancelCallback = (handle?: DoubleServerGoalHandle) => Promise<number> | number;

/**
 * rclnodejs's ActionServer (lib/action/server.js) in the double's graph: goalCallback decides (default ACCEPT), the
 * accepted callback executes (default: at once), a goal left active by its execute callback is aborted, a cancel is
 * accepted only when cancelCallback says so (default REJECT).
 */
export class DoubleActionServer {
  readonly node: DoubleNode;
  readonly actionName: string;
  readonly type: string;
  readonly goals = new Map<string, DoubleServerGoalHandle>();
  #world: RosWorld;
  #execute: ExecuteCallback;
  #goal: GoalCallback;
  #accepted: AcceptedCallback;
  #cancel: CancelCallback;

  constructor(
    world: RosWorld,
    node: DoubleNode,
    typeClass: AnyTypeClass,
    actionName: string,
    execute: ExecuteCallback,
    goal: GoalCallback = () => RESPONSE.ACCEPT,
    accepted: AcceptedCallback = (handle) => handle.execute(),
    cancel: CancelCallback = () => RESPONSE.REJECT,
  ) {
    this.#world = world;
    this.node = node;
    this.actionName = node.expand(actionName);
    this.type = world.actionType(typeClass, node.peer);
    this.#execute = execute;
    this.#goal = goal;
    this.#accepted = accepted;
    this.#cancel = cancel;
    world.actionServers.add(this);
  }

  destroy(): void {
    this.#world.actionServers.delete(this);
  }

  receive(goalId: UUID, request: Plain): DoubleServerGoalHandle | undefined {
    if (this.#goal(request) !== RESPONSE.ACCEPT) return undefined;
    const handle = new DoubleServerGoalHandle(this, goalId, request);
    this.goals.set(hex(goalId), handle);
    this.#accepted(handle);
    return handle;
  }

  async run(handle: DoubleServerGoalHandle, callback: ExecuteCallback = this.#execute): Promise<void> {
    let result: Plain;
    try {
      result = await callback(handle);
    } catch {
      result = {};
    }
    if (handle.isActive) handle.abort();
    handle.settle({ status: handle.status, result });
  }

  async cancel(goalId: UUID): Promise<{ return_code: number; goals_canceling: object[] }> {
    const handle = this.goals.get(hex(goalId));
    if (handle === undefined) return { return_code: 2, goals_canceling: [] };
    if (!handle.isActive) return { return_code: 3, goals_canceling: [] };
    if ((await this.#cancel(handle)) !== RESPONSE.ACCEPT) return { return_code: 1, goals_canceling: [] };
    handle.status = STATUS.canceling;
    return { return_code: 0, goals_canceling: [{ goal_id: goalId }] };
  }
}

/** ClientGoalHandle (lib/action/client_goal_handle.js). */
export class DoubleClientGoalHandle {
  readonly goalId: UUID;
  readonly stamp = { sec: 0, nanosec: 0 };
  readonly accepted: boolean;
  status: number;
  #server: DoubleActionServer | undefined;
  #handle: DoubleServerGoalHandle | undefined;

  constructor(goalId: UUID, server: DoubleActionServer | undefined, handle: DoubleServerGoalHandle | undefined) {
    this.goalId = goalId;
    this.accepted = handle !== undefined;
    this.status = handle ? STATUS.accepted : 0;
    this.#server = server;
    this.#handle = handle;
  }

  isAccepted(): boolean {
    return this.accepted;
  }
  isExecuting(): boolean {
    return this.status === STATUS.executing;
  }
  isCanceling(): boolean {
    return this.status === STATUS.canceling;
  }
  isSucceeded(): boolean {
    return this.status === STATUS.succeeded;
  }
  isCanceled(): boolean {
    return this.status === STATUS.canceled;
  }
  isAborted(): boolean {
    return this.status === STATUS.aborted;
  }

  async cancelGoal(): Promise<{ return_code: number; goals_canceling: object[] }> {
    if (!this.#server) return { return_code: 2, goals_canceling: [] };
    return this.#server.cancel(this.goalId);
  }

  /** Resolves with the result only; the handle's status is set from the response, as rclnodejs does. */
  async getResult(): Promise<Plain> {
    if (!this.#handle) return {};
    const { status, result } = await this.#handle.result;
    await new Promise((r) => setImmediate(r));
    this.status = status;
    return result;
  }
}

/**
 * rclnodejs's ActionClient (lib/action/client.js): sendGoal resolves when the server answers; with no server the
 * request is lost, as in DDS, and the promise never settles (waitForServer first, as rclnodejs's examples do).
 */
export class DoubleActionClient {
  readonly node: DoubleNode;
  readonly actionName: string;
  readonly type: string;
  #world: RosWorld;

  constructor(world: RosWorld, node: DoubleNode, typeClass: AnyTypeClass, actionName: string) {
    this.#world = world;
    this.node = node;
    this.actionName = node.expand(actionName);
    this.type = world.actionType(typeClass, node.peer);
    world.actionClients.add(this);
  }

  #server(): DoubleActionServer | undefined {
    return [...this.#world.actionServers].find(
      (s) => s.actionName === this.actionName && s.type === this.type && s.node.spinning,
    );
  }

  isActionServerAvailable(): boolean {
    return this.#server() !== undefined;
  }

  async waitForServer(timeout?: number): Promise<boolean> {
    const limit = timeout === undefined || timeout < 0 ? Infinity : timeout;
    return waitFor(() => this.isActionServerAvailable(), 'the action server', limit).then(
      () => true,
      () => false,
    );
  }

  sendGoal(goal: Plain, feedback?: (f: Plain) => void, goalUuid?: UUID): Promise<DoubleClientGoalHandle> {
    const goalId = goalUuid ?? { uuid: [...randomBytes(16)] };
    const server = this.#server();
    if (server === undefined) return new Promise(() => undefined);
    return new Promise((resolve) =>
      setImmediate(() => {
        const handle = server.receive(goalId, goal);
        if (handle && feedback) handle.feedbackTo = feedback;
        resolve(new DoubleClientGoalHandle(goalId, server, handle));
      }),
    );
  }

  destroy(): void {
    this.#world.actionClients.delete(this);
  }
}
