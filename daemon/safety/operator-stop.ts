import type { Logger } from 'pino';
import type { Bus } from '../bus/index.ts';
import type { MessageCodec } from '../bus/index.ts';
import type { EdgeConfig } from '../config/index.ts';
import { isRobotStop, SERVICE_NAMES, type RobotStopOutcome, type StopReleaseOutcome } from '../contract/index.ts';
import type { Component } from '../lifecycle/index.ts';
import { releaseWithoutAgent, stopWithoutAgent } from './agentless-stop.ts';
import { zeroGovernedTopics } from './velocity-sweep.ts';

/** What the operator's stop reaches: the running components (the agent, if one runs), and what it needs without one. */
export interface OperatorStopContext {
  bus: Bus;
  codec: MessageCodec;
  config: EdgeConfig;
  dataDir: string;
  components: ReadonlyMap<string, Component>;
  log: Logger;
}

/**
 * The operator's stop, from whichever door it came in (POST /stop, the bus query agent/stop): the running
 * agent's stop (its motion skill aborted, a zero Twist, its runs cancelled, the latch); with no agent
 * running (agent.enabled false, or one restarting for a reload), the zero Twist and the latch all the same.
 * Then, in the same tick, every other velocity topic the limits govern gets its zero (zeroGovernedTopics).
 */
export function operatorStop(
  ctx: OperatorStopContext,
  by: string,
  reason: string | undefined,
): Promise<RobotStopOutcome> {
  const agent = ctx.components.get(SERVICE_NAMES.agent);
  const stopping = isRobotStop(agent) ? agent.stopRobot(by, reason) : stopWithoutAgent(ctx, by, reason);
  const { zeroed, failed } = zeroGovernedTopics(ctx.bus, ctx.codec, ctx.config.policy.velocity);
  for (const { topic, error } of failed)
    ctx.log.error({ topic, err: error }, `robot stop: the zero command could not be sent to ${topic}`);
  return stopping.then((outcome) => ({ ...outcome, zeroed }));
}

/** A person releases the operator's latched stop, through the agent when one runs (see operatorStop). */
export function operatorRelease(
  ctx: OperatorStopContext,
  by: string,
  since: string | undefined,
): Promise<StopReleaseOutcome> {
  const agent = ctx.components.get(SERVICE_NAMES.agent);
  if (isRobotStop(agent)) return agent.releaseStop(by, since);
  return releaseWithoutAgent(ctx, by, since);
}
