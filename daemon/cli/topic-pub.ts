import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import type { Channel } from '@foxglove/ws-protocol';
import { BagTypeResolver } from '../bags/message-types.ts';
import { canonicalType, DefinitionsRegistry } from '../bus/definitions.ts';
import { nowNs } from '../contract/time.ts';
import { UsageError, type CommandIO } from './command.ts';
import { clientPublishOff, readFeedback, type Feedback } from './topic-pub-feedback.ts';
import { onStop, type TopicSession } from './topic-session.ts';
import { changedFields, MessageTemplate, pythonRepr } from './topic-values.ts';

export interface PubOptions {
  /** Messages to publish before exiting; undefined: until Ctrl-C. */
  times: number | undefined;
  rateHz: number;
  /** Seconds to stay connected once the last message's fate is known (the robot keeps its command meanwhile). */
  keepAliveS: number;
  /** Once the server has read a message, how long it may take to reach the topic or be refused. */
  feedbackTimeoutS: number;
  /** Print every Nth message published (`-p`); 0: none. */
  printEvery: number;
}

/**
 * The definitions TYPE's messages are built with: the schema the daemon's server sends for the topic (what
 * the daemon decodes them with) when the topic has that type, else this CLI's registry of ROS 2 types.
 */
export function resolveTemplate(type: string, channel: Channel | undefined): MessageTemplate | { error: string } {
  const schema = channel && channel.schemaName === type && channel.schemaEncoding ? { encoding: channel.schemaEncoding, text: channel.schema } : undefined;
  const resolved = new BagTypeResolver(new DefinitionsRegistry()).resolve(type, schema);
  if ('error' in resolved) return { error: `unknown message type ${type}: ${resolved.error}` };
  try {
    return new MessageTemplate(type, resolved.definitions);
  } catch (error) {
    return { error: `cannot build messages of ${type}: ${(error as Error).message}` };
  }
}

interface Sent {
  n: number;
  bytes: Uint8Array;
  message: Record<string, unknown>;
  /** Set once the server has read it and no word came yet: the longest it waits for one. */
  timer?: NodeJS.Timeout;
  /** The server said its policy changed it (a server that says so: the message to come back is it). */
  toldChanged?: boolean;
  /** Other messages that reached the topic while it waited: one may be it, changed by the policy. */
  others: Uint8Array[];
}

const TWISTS = /^geometry_msgs\/msg\/Twist(Stamped)?$/;

/** A Twist (or TwistStamped) that moves the robot: the daemon follows it with a stop when this client leaves. */
function moves(type: string, message: Record<string, unknown>): boolean {
  if (!TWISTS.test(type)) return false;
  const twist = (type.endsWith('Stamped') ? message.twist : message) as Record<string, Record<string, number>> | undefined;
  return ['linear', 'angular'].some((k) => Object.values(twist?.[k] ?? {}).some((v) => v !== 0));
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && a.every((x, i) => x === b[i]);
}

/**
 * `topic pub`: publishes the message VALUES make on the daemon's bus through its Foxglove server, as a
 * client of its client publishing: every message goes through the daemon's policy hooks (velocity limits,
 * access rules) as the agent's `publish` does; this command adds no way around them. It advertises a
 * channel of TYPE on TOPIC and sends at `rateHz` until `times` messages or Ctrl-C. What became of each
 * message is told: refused (the server's words and what to change, exit 1), or reached the topic, as sent
 * or changed by the policy (the fields it changed), seen by subscribing to the topic on the same server.
 */
export async function pub(session: TopicSession, topic: string, type: string, values: Record<string, unknown>, options: PubOptions, io: CommandIO): Promise<number> {
  const { conn, target } = session;
  const say = (line: string) => io.stderr(`auraison-edge topic pub: ${line}\n`);
  const fail = (message: string) => {
    conn.close();
    say(message);
    return 1;
  };
  if (!conn.capabilities.includes('clientPublish')) {
    return fail(`the daemon's Foxglove server takes no messages from clients (foxglove.client_publish.enabled is false): nothing published\n${clientPublishOff(topic)}`);
  }
  const onBus = target.status?.topics.find((t) => t.topic === topic);
  const busType = conn.channel(topic)?.schemaName ?? onBus?.type;
  if (busType !== undefined && canonicalType(busType) !== type) {
    return fail(`${topic} carries ${busType}, not ${type}: nothing published (\`auraison-edge topic info ${topic}\`)`);
  }

  // The advertisement: the server refuses it at once (a topic not allowed, a type it does not know), and
  // what it says of it has arrived once it answers a ping sent after it.
  const early: Feedback[] = [];
  let onFeedback = (f: Feedback): void => {
    early.push(f);
  };
  conn.onStatus((status) => onFeedback(readFeedback(status, topic, type)));
  let closed: string | undefined;
  let onClosed = (why: string): void => {
    closed = why;
  };
  conn.onClose((why) => onClosed(why));
  const channelId = conn.advertise({ topic, encoding: 'cdr', schemaName: type });
  await conn.sync();
  if (closed !== undefined) return fail(`${closed}: nothing published. Is the daemon still running? (\`auraison-edge status\`)`);
  const refused = early.find((f) => f.kind === 'refused');
  if (refused) return fail(`${refused.text}: nothing published${refused.kind === 'refused' && refused.advice ? `\n${refused.advice}` : ''}`);
  for (const f of early) say(`the daemon says: ${f.text}`);

  // What reaches the topic comes back on the server's channel of it (there now, if the server streams the
  // topic: the advertisement put it on the bus), whose schema is the daemon's definition of TYPE: messages
  // are built with it, so a type only the daemon knows can be published too.
  const echo = conn.channel(topic);
  const echoes = echo?.encoding === 'cdr';
  const template = resolveTemplate(type, echo);
  if ('error' in template) return fail(`${template.error}: nothing published`);
  const first = template.build(values, nowNs());
  if ('error' in first) {
    conn.close();
    throw new UsageError(`VALUES: ${first.error}`);
  }
  const writer = new MessageWriter(template.definitions);
  const reader = new MessageReader(template.definitions);
  // With no other publisher, a message on the topic that is not the one sent is that one, changed by the
  // policy; with others, it may be theirs.
  const otherPublishers = onBus?.publishers ?? 0;

  return new Promise<number>((resolve) => {
    const pending: Sent[] = [];
    let sent = 0;
    let reached = 0;
    let changed = 0;
    let unchecked = 0;
    let lastMoved = false;
    let toldStop = false;
    /** Stops the daemon said it published whose message has not come back yet. */
    let stopsDue = 0;
    let done = false;
    let ticker: NodeJS.Timeout | undefined;
    let keepAlive: NodeJS.Timeout | undefined;

    const finish = (code: number, message?: string) => {
      if (done) return;
      done = true;
      clearTimeout(ticker);
      clearTimeout(keepAlive);
      for (const p of pending) clearTimeout(p.timer);
      removeStopHandlers();
      conn.close();
      if (message) say(message);
      const parts = [`${reached} message(s) reached ${topic}${changed > 0 ? ` (${changed} changed by the daemon's policy)` : ''}`];
      if (unchecked > 0) parts.push(`${unchecked} sent and not refused, unchecked: the daemon's Foxglove server does not stream ${topic} (foxglove.topics)`);
      say(parts.join('; '));
      if (lastMoved) say(`the daemon publishes a stop (a zero Twist) on ${topic} as this client leaves: its last command moved the robot`);
      resolve(code);
    };
    const removeStopHandlers = onStop(() => finish(0));
    onClosed = (why) => finish(1, `${why}. Is the daemon still running? (\`auraison-edge status\`)`);

    /** The last message's fate is known: after --keep-alive, done. */
    const maybeDone = () => {
      if (done || pending.length > 0 || options.times === undefined || sent < options.times || keepAlive) return;
      keepAlive = setTimeout(() => finish(0), options.keepAliveS * 1000);
    };
    const settle = (entry: Sent) => {
      clearTimeout(entry.timer);
      pending.splice(pending.indexOf(entry), 1);
    };
    /** The message reached the topic as `bytes`; `unsure`: they may be another publisher's. */
    const arrived = (entry: Sent, bytes: Uint8Array, unsure = false) => {
      settle(entry);
      reached++;
      let message = entry.message;
      if (!sameBytes(entry.bytes, bytes)) {
        changed++;
        const caveat = unsure ? ` (${topic} has ${otherPublishers} other publisher(s): the message taken for it may be theirs)` : '';
        try {
          message = reader.readMessage<Record<string, unknown>>(bytes);
          const diff = changedFields(entry.message, message, type, template);
          say(`#${entry.n} reached ${topic} changed by the daemon's policy: ${diff.length > 0 ? diff.join(', ') : 're-encoded, same values'}${caveat}`);
        } catch (error) {
          say(`#${entry.n} reached ${topic} changed by the daemon's policy, in a form this command cannot decode as ${type}: ${(error as Error).message}${caveat}`);
        }
      }
      lastMoved = moves(type, message);
      maybeDone();
    };
    onFeedback = (f) => {
      if (f.kind === 'refused') {
        const entry = pending[0];
        finish(1, `${entry ? `message #${entry.n} refused: ` : ''}${f.text}${f.advice ? `\n${f.advice}` : ''}`);
      } else if (f.kind === 'rewritten') {
        if (pending[0]) pending[0].toldChanged = true;
        say(`the daemon says: ${f.text}`);
      } else if (f.kind === 'stopped') {
        if (!toldStop) say(`${f.text}: publish more often than that (--rate) to keep the robot moving`);
        toldStop = true;
        stopsDue++;
        lastMoved = false;
      } else say(`the daemon says: ${f.text}`);
    };
    if (echoes) {
      conn.subscribe(echo!, (m) => {
        const bytes = new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength).slice();
        const match = pending.find((p) => sameBytes(p.bytes, bytes));
        if (match) return arrived(match, bytes);
        // The stop the daemon said it published (its status comes first) is not a message of this client's.
        if (stopsDue > 0) return void stopsDue--;
        const oldest = pending[0];
        if (!oldest) return; // another publisher's
        if (oldest.toldChanged === true || otherPublishers === 0) arrived(oldest, bytes);
        else oldest.others.push(bytes);
      });
    }
    /** Once the server has read the message (and its hooks have run, as far as they decide at once). */
    const confirm = async (entry: Sent) => {
      await conn.sync();
      await conn.sync();
      if (done || !pending.includes(entry)) return;
      // Neither it nor a refusal came back by now, but other messages did: the policy changed it, or
      // the server would have said it refused it.
      if (entry.others.length > 0) return arrived(entry, entry.others[0]!, true);
      if (!echoes) {
        settle(entry);
        unchecked++;
        lastMoved = moves(type, entry.message);
        maybeDone();
        return;
      }
      const s = options.feedbackTimeoutS;
      entry.timer = setTimeout(
        () => finish(1, `no word on message #${entry.n} within ${s} s: it neither reached ${topic} nor was refused (a policy hook still deciding, an approval waiting? see the daemon's log)`),
        s * 1000,
      );
    };
    const startMs = performance.now();
    const sendNext = () => {
      try {
        sendOne();
      } catch (error) {
        // A fault of this command's (the message was checked against the type): said, not lost in a timer.
        finish(1, `cannot send message #${sent} on ${topic}: ${(error as Error).message}`);
      }
    };
    const sendOne = () => {
      if (done) return;
      const n = ++sent;
      const built = n === 1 ? first : template.build(values, nowNs()); // `now` is the time of each message
      if ('error' in built) return finish(1, built.error);
      const bytes = writer.writeMessage(built.message);
      conn.publish(channelId, bytes);
      const entry: Sent = { n, bytes, message: built.message, others: [] };
      pending.push(entry);
      if (options.printEvery > 0 && n % options.printEvery === 0) io.stdout(`publishing #${n}: ${pythonRepr(built.message, type, template)}\n\n`);
      void confirm(entry);
      if (options.times === undefined || n < options.times) ticker = setTimeout(sendNext, Math.max(0, startMs + (n * 1000) / options.rateHz - performance.now()));
    };
    // Two pings make sure a latched message the server replays on the subscribe has come before anything is
    // sent, so it is not taken for this client's.
    const begin = async () => {
      if (echoes) {
        await conn.sync();
        await conn.sync();
      }
      if (closed !== undefined) onClosed(closed);
      if (done) return;
      io.stdout('publisher: beginning loop\n');
      sendNext();
    };
    void begin();
  });
}
