import type { Bus } from '../bus/bus.ts';
import type { MessageCodec } from '../bus/codec.ts';
import type { EdgeConfig } from '../config/schema.ts';
import type { RobotStopOutcome, StopLatchState, StopReleaseOutcome } from '../contract/services.ts';
import { RobotNotStoppedError } from './robot-stop.ts';
import { StopLatch } from './stop-latch.ts';

const TWIST = 'geometry_msgs/msg/Twist';
/** How long the reply waits for the latch file, as the agent's stop waits for its journal. */
const WRITE_WAIT_MS = 1000;

/** What the operator's stop needs when no agent runs: the bus, and where the velocity topic and latch are. */
export interface AgentlessStopContext {
  bus: Bus;
  codec: MessageCodec;
  config: EdgeConfig;
  dataDir: string;
}

/**
 * The operator's stop with no agent running (agent.enabled false: a robot that runs only System 1 loops;
 * or the moment a reload restarts the agent): a zero Twist on the velocity topic, and the latch engaged,
 * which holds every control loop at its safe action (they read the same latch) and which the next agent
 * reads at its start. No run to cancel. Throws when the zero Twist cannot be sent (the topic carries
 * another type): the robot was not stopped, though the latch holds.
 */
export async function stopWithoutAgent(ctx: AgentlessStopContext, by: string, reason: string | undefined): Promise<RobotStopOutcome> {
  const topic = ctx.config.policy.velocity.topic;
  const latch = new StopLatch({ dataDir: ctx.dataDir, enabled: ctx.config.agent.stop_latch });
  let zeroError: Error | undefined;
  try {
    const publisher = ctx.bus.advertise(topic, TWIST, { source: 'stop' });
    publisher.publish(ctx.codec.encode(TWIST, {}));
    publisher.close();
  } catch (error) {
    zeroError = error as Error;
  }
  const engaged = latch.enabled ? latch.engage({ by, reason }) : undefined;
  if (zeroError) throw new RobotNotStoppedError(`the zero Twist could not be sent to ${topic}: ${zeroError.message}${engaged ? '; the stop is latched all the same' : ''}. Stop the robot another way (its hardware e-stop)`);
  let latched: StopLatchState | null = null;
  if (engaged) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([engaged.written, new Promise((resolve) => (timer = setTimeout(resolve, WRITE_WAIT_MS)))]);
    clearTimeout(timer);
    latched = { ...engaged.state };
    if (!latched.persisted && latched.error === null) latched.error = `the latch file ${latch.path} is still being written after ${WRITE_WAIT_MS} ms (its disk is slow or stuck): the latch holds here; a restart finds it only once written`;
  }
  return { topic, aborted: null, cancelled: [], journal_error: null, latched };
}

/** Releasing the latch with no agent running: as the agent releases it (StopLatch.release). */
export async function releaseWithoutAgent(ctx: Pick<AgentlessStopContext, 'config' | 'dataDir'>, since: string | undefined): Promise<StopReleaseOutcome> {
  const latch = new StopLatch({ dataDir: ctx.dataDir, enabled: ctx.config.agent.stop_latch });
  latch.load(); // a latch file from before that nothing in this process read yet
  const was = await latch.release(since);
  return { released: was !== undefined, latch: was ?? null };
}
