import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { MessageCodec } from '../bus/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import type { RobotStopOutcome, StopReleaseOutcome } from '../contract/index.ts';
import { nowNs } from '../contract/index.ts';
import { zeroVelocity } from '../policy/index.ts';
import { RobotNotStoppedError, type StopOrder } from './stop-order.ts';
import { latchReport, StopLatch, stopLatchPath } from './stop-latch.ts';

const TWIST = 'geometry_msgs/msg/Twist';
const TWIST_STAMPED = 'geometry_msgs/msg/TwistStamped';
/** How long the reply waits for the latch file, as the agent's stop waits for its journal. */
const WRITE_WAIT_MS = 1000;

/** Who drives the robot with no agent to hold it (the sim's main job), by data dir: told of each stop. */
const drivers = new Map<string, Set<(order: StopOrder) => void>>();

/**
 * Tells `listener` of every operator's stop made with no agent running on `dataDir`, in the stop's own tick
 * (before its zero Twist): a driver outside the agent ends its drive there. Returns what unsubscribes it.
 */
export function onStopWithoutAgent(dataDir: string, listener: (order: StopOrder) => void): () => void {
  const key = stopLatchPath(dataDir);
  let set = drivers.get(key);
  if (!set) drivers.set(key, (set = new Set()));
  set.add(listener);
  return () => {
    set.delete(listener);
    if (set.size === 0 && drivers.get(key) === set) drivers.delete(key);
  };
}

/** What the operator's stop needs when no agent runs: the bus, and where the velocity topic and latch are. */
export interface AgentlessStopContext {
  bus: Bus;
  codec: MessageCodec;
  config: EdgeConfig;
  dataDir: string;
  log: Logger;
}

/**
 * The operator's stop with no agent running (agent.enabled false: a robot that runs only System 1 loops; or the moment
 * a reload restarts the agent): the drivers on this data dir told (onStopWithoutAgent), a zero Twist on the velocity
 * topic, and the latch engaged, which holds every control loop at its safe action (they read the same latch) and which
 * the next agent reads at its start. No run to cancel. Throws when the zero Twist cannot be sent (the topic carries
 * another type): the robot was not stopped, though the latch holds.
 */
export async function stopWithoutAgent(
  ctx: AgentlessStopContext,
  by: string,
  reason: string | undefined,
): Promise<RobotStopOutcome> {
  const topic = ctx.config.policy.velocity.topic;
  const latch = new StopLatch({ dataDir: ctx.dataDir, enabled: ctx.config.agent.stop_latch });
  for (const listener of [...(drivers.get(stopLatchPath(ctx.dataDir)) ?? [])]) listener({ by, reason });
  let zeroError: Error | undefined;
  try {
    // A zero of the type the base takes there: a TwistStamped on a stamped cmd_vel, else a Twist (a topic
    // taken with another type refuses it: the robot is not stopped, said below).
    const type = ctx.bus.topicType(topic) === TWIST_STAMPED ? TWIST_STAMPED : TWIST;
    const publisher = ctx.bus.advertise(topic, type, { source: 'stop' });
    try {
      publisher.publish(ctx.codec.encode(type, zeroVelocity(type, nowNs())));
    } finally {
      publisher.close();
    }
  } catch (error) {
    zeroError = error as Error;
  }
  const engaged = latch.enabled ? latch.engage({ by, reason }) : undefined;
  // Logged as the agent's stop logs it: with no agent, this is the only trace of the stop in the log.
  if (zeroError) {
    const message = `the zero Twist could not be sent to ${topic}: ${zeroError.message}`;
    ctx.log.error(
      { by, reason: reason ?? null, topic, latched: engaged?.state ?? null, zero_twist_error: message },
      'robot stop: the zero Twist could not be sent; the robot was NOT stopped',
    );
    throw new RobotNotStoppedError(
      `${message}${engaged ? '; the stop is latched all the same' : ''}. Stop the robot another way (its hardware e-stop)`,
    );
  }
  const latched = engaged ? await latchReport(engaged, latch.path, WRITE_WAIT_MS) : null;
  const outcome: RobotStopOutcome = { topic, aborted: null, cancelled: [], journal_error: null, latched };
  ctx.log.warn({ by, reason: reason ?? null, ...outcome }, 'robot stopped');
  return outcome;
}

/** Releasing the latch with no agent running: as the agent releases it (StopLatch.release). */
export async function releaseWithoutAgent(
  ctx: Pick<AgentlessStopContext, 'config' | 'dataDir' | 'log'>,
  by: string,
  since: string | undefined,
): Promise<StopReleaseOutcome> {
  const latch = new StopLatch({ dataDir: ctx.dataDir, enabled: ctx.config.agent.stop_latch });
  latch.load(); // a latch file from before that nothing in this process read yet
  const was = await latch.release(since);
  if (was) ctx.log.warn({ by, stop_latch: was }, `robot stop latch released by ${by}: the robot may move again`);
  return { released: was !== undefined, latch: was ?? null };
}
