import type { Logger } from 'pino';
import type { CentralSettings } from '../daemon/config/index.ts';
import type { MetricFamily } from '../daemon/contract/index.ts';
import { CommandCounterStore, commandCounterPath } from './command-signature-counter.ts';
import { CommandSignatureCheck } from './command-signature-check.ts';
import { parseCommandKey, type CommandTopic } from './command-signature.ts';
import type { CentralTopics } from './topics.ts';

/**
 * The link's signature check as `central.*` sets it: the keys parsed (one that is not a key stops the link,
 * naming it), the counters read from the data dir, and what a lab must hear said at start.
 */
export function commandGate(options: {
  settings: Pick<CentralSettings, 'command_keys' | 'require_signed_commands'>;
  dataDir: string;
  fleet: string;
  robot: string;
  log: Logger;
}): CommandSignatureCheck {
  const { settings, dataDir, fleet, robot, log } = options;
  const keys = settings.command_keys.map((k, i) => parseCommandKey(k, `central.command_keys.${i}`));
  const required = settings.require_signed_commands ?? keys.length > 0;
  const counters = new CommandCounterStore({ path: commandCounterPath(dataDir) });
  counters.load();
  if (keys.length === 0)
    log.warn(
      'central: commands from the link are not checked (no central.command_keys): any client of the broker can send this robot intents, configs and grants; run `auraison-edge central keygen` on central and paste its public key into central.command_keys',
    );
  else if (!required) log.warn('central: unsigned commands are taken (central.require_signed_commands: false)');
  return new CommandSignatureCheck({ keys, required, fleet, robot, counters, warn: (message) => log.warn(message) });
}

/** Which command topic `topic` is, or undefined for one that carries no command. */
export function commandTopicOf(topic: string, topics: CentralTopics): CommandTopic | undefined {
  if (topic === topics.intents) return 'intents';
  if (topic === topics.config) return 'config';
  if (topic === topics.grants) return 'grants';
  if (topic === topics.resend) return 'resend';
  return undefined;
}

/** The refused commands in words for the link's health (status shows it), or undefined while there are none. */
export function signatureRefusals(check: CommandSignatureCheck): string | undefined {
  const { verified, unchecked, ...refusals } = check.counts;
  void verified;
  void unchecked;
  const seen = Object.entries(refusals).filter(([, n]) => n > 0);
  if (seen.length === 0) return undefined;
  const total = seen.reduce((sum, [, n]) => sum + n, 0);
  return `${total} command(s) from the link refused as not central's (${seen.map(([code, n]) => `${code} ${n}`).join(', ')}): a broker client other than central publishes on this robot's topics, or central's key changed (docs/central-link.md, Signed commands)`;
}

/** The check's counts as one metric family: `outcome` is verified, unchecked, or the refusal's code. */
export function signatureMetrics(check: CommandSignatureCheck): MetricFamily {
  return {
    name: 'auraison_central_command_signatures_total',
    help: "Commands from the link by central's signature: verified, unchecked (no key, or unsigned taken), or refused by reason.",
    type: 'counter',
    samples: Object.entries(check.counts).map(([outcome, value]) => ({ labels: { outcome }, value })),
  };
}
