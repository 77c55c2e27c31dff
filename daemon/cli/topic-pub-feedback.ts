import type { StatusMessage } from '@foxglove/ws-protocol';

/**
 * What the daemon's Foxglove server said to `topic pub` (a status message), read: whether it refused what
 * was sent, and what the user changes so it would not. The words are the server's own (publish-gate.ts,
 * client-publishing.ts, client-frames.ts); the advice names the config key or the policy that decided.
 */
export type Feedback =
  | { kind: 'refused'; text: string; advice: string | undefined }
  /** A message went out as the policy changed it (a server that says so). */
  | { kind: 'rewritten'; text: string }
  /** The daemon published a stop on the topic: the client sent nothing for stop_after_ms. */
  | { kind: 'stopped'; text: string }
  /** Anything else it said (what a policy did to a message that went out, a protocol note). */
  | { kind: 'note'; text: string };

const ERROR = 2;
const RELOAD = '`auraison-edge reload`';

export function readFeedback(status: Pick<StatusMessage, 'level' | 'message'>, topic: string, type: string): Feedback {
  const text = status.message;
  if (text.startsWith(`no command on ${topic} `)) return { kind: 'stopped', text };
  if (text.startsWith(`message on ${topic} published as changed by the policy`)) return { kind: 'rewritten', text };
  const refused =
    status.level === ERROR ||
    text.startsWith(`message on ${topic} not published`) ||
    text.startsWith(`messages on ${topic} dropped`) ||
    text.startsWith(`cannot publish on ${topic}`);
  if (!refused) return { kind: 'note', text };
  return { kind: 'refused', text, advice: adviceFor(text, topic, type) };
}

/** What to change, for the refusals the server words; undefined for one it words another way. */
function adviceFor(text: string, topic: string, type: string): string | undefined {
  if (text.includes('client publishing is off')) return clientPublishOff(topic);
  if (text.includes('not in foxglove.client_publish.topics'))
    return `add ${topic} to foxglove.client_publish.topics in the daemon's config, then ${RELOAD}`;
  if (text.includes('policy hooks are not running')) {
    return (
      "a client's message goes through the agent's policy hooks and is refused while none run: start the agent (agent.enabled: true in the daemon's config, then " +
      `${RELOAD}; \`auraison-edge status\` shows its state)`
    );
  }
  if (text.includes('unknown message type'))
    return `the daemon has no definition of ${type}: add its package to bus.definitions.dirs in the daemon's config`;
  if (text.includes('the topic carries')) return `publish the topic's own type (\`auraison-edge topic info ${topic}\`)`;
  if (text.includes('max_rate_hz')) return 'lower --rate, or raise foxglove.client_publish.max_rate_hz';
  if (text.includes('max_pending')) return "lower --rate: the daemon's policy hooks decide slower than that";
  if (text.includes('max_channels'))
    return 'this client has too many channels advertised (foxglove.client_publish.max_channels)';
  const rule = /not published: ([\w.-]+): /.exec(text)?.[1];
  if (rule) {
    return `the daemon's policy refused it (rule ${rule}); its hooks decide what reaches the bus, for a client as for the agent: send values it allows, or change the policy section of the daemon's config`;
  }
  return undefined;
}

/** What to do when the server offers no client publishing. */
export function clientPublishOff(topic: string): string {
  return `set foxglove.client_publish.enabled: true, with ${topic} in foxglove.client_publish.topics, in the daemon's config, then ${RELOAD}`;
}
