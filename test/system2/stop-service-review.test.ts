import { afterEach, describe, expect, it } from 'vitest';
import type { EdgeConfig } from '../../daemon/config/schema.ts';
import type { RobotStopOutcome } from '../../daemon/contract/services.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { startDaemon } from '../helpers/daemon.ts';

// An adversarial review of the operator's stop (daemon/safety/): each test here failed before its fix.

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const bare = { sim: { enabled: false }, foxglove: { enabled: false }, lakehouse: { enabled: false }, retention: { enabled: false } };

function ask(daemon: Daemon, body?: unknown): Promise<RobotStopOutcome> {
  const payload = body === undefined ? new Uint8Array() : new TextEncoder().encode(JSON.stringify(body));
  return daemon.bus.query('agent/stop', { encoding: 'application/json', payload }).then((reply) => JSON.parse(new TextDecoder().decode(reply.payload)) as RobotStopOutcome);
}

describe('agent/stop through a reload of what the stop uses', () => {
  // The supervisor restarted the stop component when policy.velocity.topic/.topics or agent.stop_latch
  // changed: between the old one's stop and the new one's start nothing served agent/stop, and an e-stop
  // node's query got `nothing serves query agent/stop` (26 of 39 in a run): the robot was not stopped.
  it('answers every query while a reload changes the velocity topics and the latch', { timeout: 30_000 }, async () => {
    for (const agentEnabled of [false, true]) {
      const { daemon, stop } = await startDaemon({ ...bare, api: { enabled: false }, agent: { enabled: agentEnabled } }, 'stop-review-reload-');
      cleanups.push(stop);
      const changes: ((c: EdgeConfig) => void)[] = [
        (c) => void (c.policy.velocity.topics = ['/cmd_vel', '/robot1/cmd_vel']),
        (c) => void (c.policy.velocity.topic = '/robot1/cmd_vel'),
        (c) => void (c.agent.stop_latch = false),
      ];
      for (const change of changes) {
        const next: EdgeConfig = structuredClone(daemon.config);
        change(next);
        const reloading = daemon.reload(next);
        let done = false;
        void reloading.finally(() => (done = true));
        const replies: Promise<RobotStopOutcome | string>[] = [];
        for (let i = 0; !done; i++) {
          replies.push(ask(daemon, { by: 'estop_node' }).catch((error: Error) => error.message));
          await (i % 50 === 49 ? new Promise((resolve) => setImmediate(resolve)) : Promise.resolve());
        }
        await reloading;
        const failed = (await Promise.all(replies)).filter((r) => typeof r === 'string');
        expect(failed).toEqual([]);
        expect(replies.length).toBeGreaterThan(0);
      }
      // The stop in force uses what the reloads set: the new topic, and no latch.
      expect(await ask(daemon, { by: 'estop_node' })).toMatchObject({ topic: '/robot1/cmd_vel', latched: null });
      expect(daemon.status().components.stop).toMatchObject({ state: 'running', details: { stop_latch: null } });
    }
  });
});
