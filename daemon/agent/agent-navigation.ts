import type { Bus, MessageCodec } from '../bus/index.ts';
import type { AgentSettings } from '../config/index.ts';
import { Navigator } from '../navigation/index.ts';
import type { CmdVelGate } from '../motion/index.ts';

/** The internal topic the agent's own navigator publishes to; the CmdVelGate forwards it, limited. */
export const AGENT_NAV_CMD_VEL = '/auraison/agent/nav_cmd_vel';

export interface AgentNavigationOptions {
  bus: Bus;
  codec: MessageCodec;
  gate: CmdVelGate;
  settings: AgentSettings['navigation'];
  /** Robot seconds per wall second: the sim's speed in a sim, else 1. */
  timeScale: number;
}

/**
 * The agent's own Navigator (daemon/navigation), made on the first goal and kept: it publishes to an internal
 * topic the CmdVelGate forwards, so its Twists are limited like any other motion.
 */
export class AgentNavigation {
  readonly #bus: Bus;
  readonly #codec: MessageCodec;
  readonly #gate: CmdVelGate;
  readonly #settings: AgentSettings['navigation'];
  #timeScale: number;
  #navigator: Navigator | undefined;

  constructor(options: AgentNavigationOptions) {
    const { bus, codec, gate, settings, timeScale } = options;
    this.#bus = bus;
    this.#codec = codec;
    this.#gate = gate;
    this.#settings = settings;
    this.#timeScale = timeScale;
  }

  navigator(): Navigator {
    if (!this.#navigator) {
      const { odom_topic: odom, tolerance_m: goalTolerance, odom_timeout_ms } = this.#settings;
      // In a sim slower than real time, /odom comes less often per wall second: the navigator's watchdogs stretch to
      // match.
      this.#navigator = new Navigator({
        bus: this.#bus,
        codec: this.#codec,
        topics: { cmdVel: AGENT_NAV_CMD_VEL, odom },
        follow: { goalTolerance },
        timeScale: this.#timeScale,
        safety: { odomTimeoutMs: odom_timeout_ms },
      });
      this.#gate.forward(AGENT_NAV_CMD_VEL, 'agent-gate');
      this.#navigator.start();
    }
    return this.#navigator;
  }

  /** sim.speed changed: the navigator is made once and kept, so it is told (goals from now on take it). */
  setTimeScale(timeScale: number): void {
    this.#timeScale = timeScale;
    this.#navigator?.setTimeScale(timeScale);
  }

  /** For the agent's health: null until the first goal made the navigator. */
  get status(): { timeScale: number | null; odomTimeoutMs: number | null } {
    return { timeScale: this.#navigator?.timeScale ?? null, odomTimeoutMs: this.#navigator?.odomTimeoutMs ?? null };
  }

  close(): void {
    this.#navigator?.close();
  }
}
