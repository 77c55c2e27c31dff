import { actionOfService, actionTypeOfSendGoal } from '../../daemon/actions/index.ts';
import { actionCounters, ZenohActionProxy, type ActionContext } from './action-proxy.ts';
import type { StatusFigures } from '../../daemon/contract/index.ts';
import { errorText } from '../../daemon/util/index.ts';

/**
 * The Zenoh graph's action servers selected by zenoh.actions.call, each served on the bus as the same action while
 * a server announces its send_goal service (rmw_zenoh's SS token, or zenoh-bridge-ros2dds's AS token), and dropped,
 * its goals aborted with the reason, when it leaves.
 */
export class ZenohActionBridge {
  readonly counters = actionCounters();
  #ctx: ActionContext;
  #callable: (action: string) => boolean;
  #proxies = new Map<string, ZenohActionProxy>();
  #refused = new Map<string, string>();
  #lastAborted: { action: string; goal: string; reason: string } | undefined;

  constructor(options: { ctx: ActionContext; callable: (action: string) => boolean }) {
    const { ctx, callable } = options;
    this.#ctx = ctx;
    this.#callable = callable;
  }

  details(): StatusFigures {
    return {
      ...this.counters,
      calling: [...this.#proxies.keys()],
      // Each goal in flight as its server's status topic says (executing, canceling, ...).
      goals: [...this.#proxies.values()].flatMap((p) => p.goals().map((g) => ({ action: p.name, ...g }))),
      ...(this.#lastAborted ? { last_aborted: this.#lastAborted } : {}),
      ...(this.#refused.size > 0 ? { refused: Object.fromEntries(this.#refused) } : {}),
    };
  }

  /** Opens the bus side of the graph's servers that came, and closes that of those that left. */
  reconcile(servers: ReadonlyMap<string, { rosType: string; typeHash?: string }>): void {
    const live = new Map<string, string>();
    for (const [service, { rosType }] of servers) {
      const action = actionOfService(service);
      const type = actionTypeOfSendGoal(rosType);
      if (action !== undefined && type !== undefined && this.#callable(action)) live.set(action, type);
    }
    for (const [action, proxy] of this.#proxies) {
      if (live.get(action) === proxy.type) continue;
      this.#proxies.delete(action);
      void proxy.close(`the action server of ${action} left the Zenoh graph (its liveliness token is gone)`);
      this.#ctx.log.info({ action }, 'zenoh: an action server left; its goals end aborted');
    }
    for (const [action, type] of live) {
      if (this.#proxies.has(action)) continue;
      try {
        const proxy = new ZenohActionProxy({
          ctx: this.#ctx,
          name: action,
          type,
          announcedHash: (service) => servers.get(service)?.typeHash,
          counters: this.counters,
          onAborted: (goal, reason) => {
            this.#lastAborted = { action, goal, reason };
            this.#ctx.log.warn({ action, goal, reason }, 'zenoh: a goal ended aborted');
          },
        });
        this.#proxies.set(action, proxy);
        this.#refused.delete(action);
        this.#ctx.log.info({ action, type }, 'zenoh: serving an action of the graph on the bus');
      } catch (error) {
        this.#refused.set(action, errorText(error));
        this.#ctx.log.warn({ action, type, err: errorText(error) }, 'zenoh: action not bridged');
      }
    }
  }

  async close(): Promise<void> {
    const proxies = [...this.#proxies.values()];
    this.#proxies.clear();
    await Promise.all(proxies.map((p) => p.close('the Zenoh bridge stopped')));
  }
}
