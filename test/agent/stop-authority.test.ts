import { PORTS } from '../../daemon/contract/index.ts';
import { afterEach, describe, expect, it } from 'vitest';
import { BusActionClient } from '../../daemon/actions/action-client.ts';
import { MessageCodec } from '../../daemon/bus/codec.ts';
import type { AgentEvent } from '../../daemon/contract/schemas.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { runCleanups, type Cleanup } from '../helpers/cleanups.ts';
import { running, startSimDaemon } from '../helpers/daemon.ts';
import { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { goalAt, NAV } from '../helpers/nav2-goal.ts';
import { waitFor } from '../helpers/wait.ts';

/**
 * The daemon's one stop (HaltAuthority): whichever door it comes in by, agent or none, it journals the stop and its
 * release as agent events (who, why, where the robot was, what it ended), ends every action goal in flight, and
 * one hook's fault keeps neither the zero nor the latch from the others.
 */

const cleanups: Cleanup[] = [];
afterEach(() => runCleanups(cleanups));

/** The stop's events in the daemon's journal, oldest first. */
function stopEvents(daemon: Daemon): AgentEvent[] {
  return daemon.journal
    .read(1, 100_000)
    .filter((r) => r.kind === 'agent_event')
    .map((r) => r.data as AgentEvent)
    .filter((e) => e.kind.startsWith('stop.'));
}

describe('the stop authority', () => {
  for (const agent of [true, false]) {
    it(`journals the stop and its release, with who, why and where the robot was (agent ${agent ? 'on' : 'off'})`, async () => {
      const { daemon, sim } = await startSimDaemon(cleanups, { speed: 5, config: { agent: { enabled: agent } } });
      await sim.until(0.5); // odometry has come
      const outcome = await daemon.haltAuthority.halt('ada', 'person in the aisle');
      expect(outcome).toMatchObject({ topic: '/cmd_vel', latched: { by: 'ada', reason: 'person in the aisle' } });
      const pose = sim.world.pose();

      const released = await daemon.haltAuthority.release('bob');
      expect(released.released).toBe(true);
      const events = stopEvents(daemon);
      expect(events.map((e) => e.kind)).toEqual(['stop.engaged', 'stop.released']);
      const [engaged, release] = events as [AgentEvent, AgentEvent];
      expect(engaged.payload).toMatchObject({
        by: 'ada',
        reason: 'person in the aisle',
        zeroed: ['/cmd_vel'],
        latched: { by: 'ada' },
        not_stopped: null,
      });
      const at = engaged.payload.pose as { x: number; y: number };
      expect(Math.hypot(at.x - pose.x, at.y - pose.y)).toBeLessThan(0.5);
      expect(release.payload).toMatchObject({ by: 'bob', latch: { by: 'ada', reason: 'person in the aisle' } });
      // Events of no run: the agent's store neither shows them as runs nor holds the journal for them.
      if (agent) {
        const a = running(daemon, AgentComponent)!;
        expect([...a.store.all()]).toEqual([]);
        expect(a.journalHold()).toBeUndefined();
      }
    });
  }

  it('cancels every action goal in flight, names them in its reply, and refuses new ones while latched', async () => {
    const { daemon, dock } = await startSimDaemon(cleanups, { speed: 2, config: { api: { enabled: true, port: 0 } } });
    const client = new BusActionClient({
      bus: daemon.bus,
      codec: new MessageCodec(daemon.definitions),
      ...NAV,
      track: daemon.actionGoals,
    });
    const handle = (await client.sendGoal(goalAt(dock.x, dock.y)))!;
    const result = handle.result({ timeoutMs: 60_000 });
    const outcome = await daemon.haltAuthority.halt('ada');
    expect(outcome.goals).toEqual([`/navigate_to_pose ${handle.goalId}`]);
    expect((await result).state).toBe('canceled');
    expect((stopEvents(daemon)[0]!.payload as { goals: string[] }).goals).toEqual(outcome.goals);

    const url = daemon.ports.get(PORTS.api)!.url!;
    const refused = await fetch(`${url}/actions/goal`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...NAV, goal: goalAt(dock.x, dock.y) }),
    });
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ error: 'stopped', message: expect.stringMatching(/latched by ada/) });
  });

  it('sends the zero and latches though a hook throws, and says which hook failed', async () => {
    const { daemon } = await startSimDaemon(cleanups, { config: { agent: { enabled: false } } });
    daemon.haltAuthority.onHalt('broken driver', () => {
      throw new Error('driver lost');
    });
    const told: string[] = [];
    daemon.haltAuthority.onHalt('driver', (order) => void told.push(order.by));
    const outcome = await daemon.haltAuthority.halt('ada');
    expect(told).toEqual(['ada']);
    expect(outcome.latched).toMatchObject({ by: 'ada' });
    expect(outcome.journal_error).toMatch(/broken driver: driver lost/);
    expect(daemon.haltAuthority.latch.refusal()).toMatch(/latched by ada/);
    await waitFor(() => stopEvents(daemon).length === 1, 'the stop journaled');
  });
});
