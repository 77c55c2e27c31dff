import type { Logger } from 'pino';
import type { CentralSettings } from '../daemon/config/index.ts';
import { CommandCounterStore, commandCounterPath } from './command-signature-counter.ts';
import { CommandSignatureCheck, NO_KEY_REMEDY } from './command-signature-check.ts';
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
  // Secure by default: only the file's explicit `false` takes a command central did not sign.
  const required = settings.require_signed_commands ?? true;
  const counters = new CommandCounterStore({ path: commandCounterPath(dataDir) });
  counters.load();
  const check = new CommandSignatureCheck({ keys, required, fleet, robot, counters, warn: (m) => log.warn(m) });
  const said = authorityProblem(check);
  if (said) log.warn(`central: ${said}`);
  return check;
}

/**
 * What the link's authority lacks, in words for the log at start and for status every time, or undefined when
 * central's key is pinned and required: no key (central cannot command this robot), or the file's opt-out
 * (any broker client can).
 */
export function authorityProblem(check: CommandSignatureCheck): string | undefined {
  if (check.shut)
    return `commands from central are refused: no key of central's is pinned (central.command_keys is empty); ${NO_KEY_REMEDY}`;
  if (check.open)
    return check.keys === 0
      ? 'UNCHECKED: every command from the link is taken without a signature (central.require_signed_commands: false, no central.command_keys): any client of the broker can command this robot'
      : 'unsigned commands from the link are taken (central.require_signed_commands: false): any client of the broker can command this robot; signed ones are still checked';
  return undefined;
}

/** Which command topic `topic` is, or undefined for one that carries no command. */
export function commandTopicOf(topic: string, topics: CentralTopics): CommandTopic | undefined {
  if (topic === topics.intents) return 'intents';
  if (topic === topics.config) return 'config';
  if (topic === topics.grants) return 'grants';
  if (topic === topics.resend) return 'resend';
  return undefined;
}
