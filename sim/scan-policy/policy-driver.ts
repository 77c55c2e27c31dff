import { join } from 'node:path';
import type { Logger } from 'pino';
import { Value } from 'typebox/value';
import type { Bus } from '../../daemon/bus/index.ts';
import type { DefinitionsRegistry } from '../../daemon/bus/index.ts';
import { LoopConfig, PolicyConfig, type LoopSettings, type PolicySettings } from '../../daemon/config/index.ts';
import { ControlLoop, type ControlLoopStats } from '../../daemon/system1/index.ts';
import { formatHistogram, histogramPercentile } from '../../daemon/system1/index.ts';
import { RANGE_MAX } from './scan-features.ts';
import { PACKAGE_ROOT } from '../../daemon/util/index.ts';

/** The fitted policy shipped with the repo (sim/scan-policy/fit.ts writes it). */
export const SIM_POLICY_MODEL = join(PACKAGE_ROOT, 'sim', 'turtlebot-maze', 'policy', 'avoid.onnx');

export interface PolicyDriverOptions {
  model?: string;
  /** Loop rate in wall-clock Hz; scale it with the sim's speed (10 x speed), since /scan comes in sim time. */
  rateHz?: number;
  /** Older /scan than this sends the safe action (zero twist); scale it down with the sim's speed. */
  maxObservationAgeMs?: number;
  scanTopic?: string;
  cmdTopic?: string;
}

export interface PolicyDriverDeps {
  bus: Bus;
  definitions: DefinitionsRegistry;
  log: Logger;
}

/**
 * Drives the turtlebot-maze robot with the ONNX obstacle-avoidance policy through a real control loop:
 * /scan (sensor_msgs/msg/LaserScan) in, /cmd_vel (geometry_msgs/msg/Twist) out, in a worker thread with
 * deadline accounting and stale-scan detection, exactly as a configured System 1 loop runs.
 */
export class PolicyDriver {
  readonly policy: PolicySettings;
  readonly loop: LoopSettings;
  #control: ControlLoop;
  #commands = 0;
  #safe = 0;
  #linearSum = 0;

  constructor(deps: PolicyDriverDeps, options: PolicyDriverOptions = {}) {
    const {
      model = SIM_POLICY_MODEL,
      rateHz = 10,
      maxObservationAgeMs = 500,
      scanTopic = '/scan',
      cmdTopic = '/cmd_vel',
    } = options;
    this.policy = Value.Default(PolicyConfig, {
      model,
      serve: false,
      inputs: { scan: { sources: [{ topic: scanTopic, field: 'ranges', clip: [0, RANGE_MAX] }] } },
      outputs: {
        cmd: { command: { topic: cmdTopic, type: 'geometry_msgs/msg/Twist', fields: ['linear.x', 'angular.z'] } },
      },
    }) as PolicySettings;
    this.loop = Value.Default(LoopConfig, {
      policy: 'turtlebot-maze-avoid',
      rate_hz: rateHz,
      max_observation_age_ms: maxObservationAgeMs,
      safe_action: [0, 0],
    }) as LoopSettings;
    this.#control = new ControlLoop({
      name: 'sim-policy',
      loop: this.loop,
      policyName: 'turtlebot-maze-avoid',
      policy: this.policy,
      ...deps,
      onCommand: (values, safe) => {
        this.#commands++;
        if (safe) this.#safe++;
        this.#linearSum += values[0]!;
      },
    });
  }

  start(): Promise<void> {
    return this.#control.start();
  }

  close(): Promise<void> {
    return this.#control.close();
  }

  alive(): boolean {
    return this.#control.alive();
  }

  stats(): ControlLoopStats & { commands: number; safeCommands: number; meanLinear: number } {
    return {
      ...this.#control.stats(),
      commands: this.#commands,
      safeCommands: this.#safe,
      meanLinear: this.#commands ? this.#linearSum / this.#commands : 0,
    };
  }

  /** Lines for the sim's summary: loop figures and the latency histogram. */
  summary(): string[] {
    const s = this.stats();
    const p = (q: number) => histogramPercentile(s.latency, q);
    return [
      `policy loop: ${s.ticks} ticks at ${s.rateHz} Hz (${s.mode}), ${s.missedDeadlines} missed deadlines, ${s.staleTicks} stale-scan ticks, ${s.errors} errors`,
      `commands: ${s.commands} sent (${s.safeCommands} safe), mean linear.x ${s.meanLinear.toFixed(3)} m/s`,
      `tick latency: p50 <= ${p(50)} us, p99 <= ${p(99)} us, max ${s.latency.maxUs.toFixed(0)} us`,
      ...formatHistogram(s.latency, 'tick latency'),
    ];
  }
}

/** What the sim command calls for `--driver policy`. */
export async function createPolicyDriver(
  deps: PolicyDriverDeps,
  options: PolicyDriverOptions = {},
): Promise<PolicyDriver> {
  const driver = new PolicyDriver(deps, options);
  await driver.start();
  return driver;
}
