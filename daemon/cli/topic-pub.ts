import { MessageReader, MessageWriter } from '@foxglove/rosmsg2-serialization';
import type { Channel } from '@foxglove/ws-protocol';
import { nowNs, errorText } from '../util/index.ts';
import { UsageError, type CommandIO } from '../cli-kit/index.ts';
import type { Feedback } from './topic-pub-feedback.ts';
import { cannotPublish, moves, resolveTemplate } from './publish-template.ts';
import { ServerWords } from './server-words.ts';
import { onHalt, type TopicSession } from './topic-session.ts';
import { changedFields, type MessageTemplate, pythonRepr } from './topic-values.ts';

export { resolveTemplate } from './publish-template.ts';

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
export async function pub(
  session: TopicSession,
  topic: string,
  type: string,
  values: Record<string, unknown>,
  options: PubOptions,
  io: CommandIO,
): Promise<number> {
  const { conn, target } = session;
  const say = (line: string) => io.stderr(`auraison-edge topic pub: ${line}\n`);
  const fail = (message: string) => {
    conn.close();
    say(message);
    return 1;
  };
  const onBus = target.status?.topics.find((t) => t.topic === topic);
  const unfit = cannotPublish(conn, topic, type, onBus?.type);
  if (unfit) return fail(unfit);

  // The advertisement: the server refuses it at once (a topic not allowed, a type it does not know), and
  // what it says of it has arrived once it answers a ping sent after it.
  const relay = new ServerWords(conn, topic, type);
  const channelId = conn.advertise({ topic, encoding: 'cdr', schemaName: type });
  await conn.sync();
  if (relay.closed !== undefined)
    return fail(`${relay.closed}: nothing published. Is the daemon still running? (\`auraison-edge status\`)`);
  const refused = relay.early.find((f) => f.kind === 'refused');
  if (refused)
    return fail(
      `${refused.text}: nothing published${refused.kind === 'refused' && refused.advice ? `\n${refused.advice}` : ''}`,
    );
  for (const f of relay.early) say(`the daemon says: ${f.text}`);

  // What reaches the topic comes back on the server's channel of it (there now, if the server streams the
  // topic: the advertisement put it on the bus), whose schema is the daemon's definition of TYPE: messages
  // are built with it, so a type only the daemon knows can be published too.
  const echo = conn.channel(topic);
  const template = resolveTemplate(type, echo);
  if ('error' in template) return fail(`${template.error}: nothing published`);
  const first = template.build(values, nowNs());
  if ('error' in first) {
    conn.close();
    throw new UsageError(`VALUES: ${first.error}`);
  }
  // With no other publisher, a message on the topic that is not the one sent is that one, changed by the
  // policy; with others, it may be theirs.
  const otherPublishers = onBus?.publishers ?? 0;
  return new Publication({
    conn,
    relay,
    channelId,
    topic,
    type,
    values,
    options,
    io,
    say,
    echo,
    template,
    first: first.message,
    otherPublishers,
  }).run();
}

interface PublicationOptions {
  conn: TopicSession['conn'];
  relay: ServerWords;
  channelId: number;
  topic: string;
  type: string;
  values: Record<string, unknown>;
  options: PubOptions;
  io: CommandIO;
  say: (line: string) => void;
  /** The server's channel of the topic, where what reaches it comes back (when it is a cdr one). */
  echo: Channel | undefined;
  template: MessageTemplate;
  first: Record<string, unknown>;
  otherPublishers: number;
}

/**
 * The messages of one `topic pub` on an advertised channel: sent at the rate asked, each followed until its
 * fate is known (reached the topic, as sent or changed by the policy; refused; no word in time). `run` once.
 */
class Publication {
  readonly #conn: TopicSession['conn'];
  readonly #relay: ServerWords;
  readonly #channelId: number;
  readonly #topic: string;
  readonly #type: string;
  readonly #values: Record<string, unknown>;
  readonly #times: number | undefined;
  readonly #rateHz: number;
  readonly #keepAliveS: number;
  readonly #feedbackTimeoutS: number;
  readonly #printEvery: number;
  readonly #io: CommandIO;
  readonly #say: (line: string) => void;
  readonly #echo: Channel | undefined;
  readonly #echoes: boolean;
  readonly #template: MessageTemplate;
  readonly #first: Record<string, unknown>;
  readonly #otherPublishers: number;
  readonly #writer: MessageWriter;
  readonly #reader: MessageReader;
  readonly #pending: Sent[] = [];
  #sent = 0;
  #reached = 0;
  #changed = 0;
  #unchecked = 0;
  #lastMoved = false;
  #toldStop = false;
  /** Stops the daemon said it published whose message has not come back yet. */
  #stopsDue = 0;
  #done = false;
  #ticker: NodeJS.Timeout | undefined;
  #keepAlive: NodeJS.Timeout | undefined;
  #startMs = 0;
  #removeStopHandlers: () => void = () => undefined;
  #resolve: (code: number) => void = () => undefined;

  constructor({
    conn,
    relay,
    channelId,
    topic,
    type,
    values,
    options,
    io,
    say,
    echo,
    template,
    first,
    otherPublishers,
  }: PublicationOptions) {
    const { times, rateHz, keepAliveS, feedbackTimeoutS, printEvery } = options;
    this.#conn = conn;
    this.#relay = relay;
    this.#channelId = channelId;
    this.#topic = topic;
    this.#type = type;
    this.#values = values;
    this.#times = times;
    this.#rateHz = rateHz;
    this.#keepAliveS = keepAliveS;
    this.#feedbackTimeoutS = feedbackTimeoutS;
    this.#printEvery = printEvery;
    this.#io = io;
    this.#say = say;
    this.#echo = echo;
    this.#echoes = echo?.encoding === 'cdr';
    this.#template = template;
    this.#first = first;
    this.#otherPublishers = otherPublishers;
    this.#writer = new MessageWriter(template.definitions);
    this.#reader = new MessageReader(template.definitions);
  }

  /** Publishes until done; resolves with the exit code once the summary is said. */
  run(): Promise<number> {
    return new Promise<number>((resolve) => {
      this.#resolve = resolve;
      this.#removeStopHandlers = onHalt(() => this.#finish(0));
      this.#relay.onClosed = (why) =>
        this.#finish(1, `${why}. Is the daemon still running? (\`auraison-edge status\`)`);
      this.#relay.onFeedback = (f) => this.#feedback(f);
      if (this.#echoes)
        this.#conn.subscribe(this.#echo!, (m) =>
          this.#echoed(new Uint8Array(m.data.buffer, m.data.byteOffset, m.data.byteLength).slice()),
        );
      this.#startMs = performance.now();
      void this.#begin();
    });
  }

  // Two pings make sure a latched message the server replays on the subscribe has come before anything is
  // sent, so it is not taken for this client's.
  async #begin(): Promise<void> {
    if (this.#echoes) {
      await this.#conn.sync();
      await this.#conn.sync();
    }
    if (this.#relay.closed !== undefined) this.#relay.onClosed(this.#relay.closed);
    if (this.#done) return;
    this.#io.stdout('publisher: beginning loop\n');
    this.#sendNext();
  }

  #finish(code: number, message?: string): void {
    if (this.#done) return;
    this.#done = true;
    clearTimeout(this.#ticker);
    clearTimeout(this.#keepAlive);
    for (const p of this.#pending) clearTimeout(p.timer);
    this.#removeStopHandlers();
    this.#conn.close();
    if (message) this.#say(message);
    const topic = this.#topic;
    const parts = [
      `${this.#reached} message(s) reached ${topic}${this.#changed > 0 ? ` (${this.#changed} changed by the daemon's policy)` : ''}`,
    ];
    if (this.#unchecked > 0)
      parts.push(
        `${this.#unchecked} sent and not refused, unchecked: the daemon's Foxglove server does not stream ${topic} (foxglove.topics)`,
      );
    this.#say(parts.join('; '));
    if (this.#lastMoved)
      this.#say(
        `the daemon publishes a stop (a zero Twist) on ${topic} as this client leaves: its last command moved the robot`,
      );
    this.#resolve(code);
  }

  /** The last message's fate is known: after --keep-alive, done. */
  #maybeDone(): void {
    if (
      this.#done ||
      this.#pending.length > 0 ||
      this.#times === undefined ||
      this.#sent < this.#times ||
      this.#keepAlive
    )
      return;
    this.#keepAlive = setTimeout(() => this.#finish(0), this.#keepAliveS * 1000);
  }

  #settle(entry: Sent): void {
    clearTimeout(entry.timer);
    this.#pending.splice(this.#pending.indexOf(entry), 1);
  }

  /** The message reached the topic as `bytes`; `unsure`: they may be another publisher's. */
  #arrived(entry: Sent, bytes: Uint8Array, unsure = false): void {
    const topic = this.#topic;
    const type = this.#type;
    this.#settle(entry);
    this.#reached++;
    let message = entry.message;
    if (!sameBytes(entry.bytes, bytes)) {
      this.#changed++;
      const caveat = unsure
        ? ` (${topic} has ${this.#otherPublishers} other publisher(s): the message taken for it may be theirs)`
        : '';
      try {
        message = this.#reader.readMessage<Record<string, unknown>>(bytes);
        const diff = changedFields(entry.message, message, type, this.#template);
        this.#say(
          `#${entry.n} reached ${topic} changed by the daemon's policy: ${diff.length > 0 ? diff.join(', ') : 're-encoded, same values'}${caveat}`,
        );
      } catch (error) {
        this.#say(
          `#${entry.n} reached ${topic} changed by the daemon's policy, in a form this command cannot decode as ${type}: ${errorText(error)}${caveat}`,
        );
      }
    }
    this.#lastMoved = moves(type, message);
    this.#maybeDone();
  }

  /** What the server said while publishing: a refusal ends it; a rewrite or a stop it published is noted. */
  #feedback(f: Feedback): void {
    const pending = this.#pending;
    if (f.kind === 'refused') {
      const entry = pending[0];
      this.#finish(1, `${entry ? `message #${entry.n} refused: ` : ''}${f.text}${f.advice ? `\n${f.advice}` : ''}`);
    } else if (f.kind === 'rewritten') {
      if (pending[0]) pending[0].toldChanged = true;
      this.#say(`the daemon says: ${f.text}`);
    } else if (f.kind === 'stopped') {
      if (!this.#toldStop) this.#say(`${f.text}: publish more often than that (--rate) to keep the robot moving`);
      this.#toldStop = true;
      this.#stopsDue++;
      this.#lastMoved = false;
    } else this.#say(`the daemon says: ${f.text}`);
  }

  /** A message came back on the topic: the one sent, one changed by the policy, a stop, or another's. */
  #echoed(bytes: Uint8Array): void {
    const pending = this.#pending;
    const match = pending.find((p) => sameBytes(p.bytes, bytes));
    if (match) return this.#arrived(match, bytes);
    // The stop the daemon said it published (its status comes first) is not a message of this client's.
    if (this.#stopsDue > 0) return void this.#stopsDue--;
    const oldest = pending[0];
    if (!oldest) return; // another publisher's
    if (oldest.toldChanged === true || this.#otherPublishers === 0) this.#arrived(oldest, bytes);
    else oldest.others.push(bytes);
  }

  /** Once the server has read the message (and its hooks have run, as far as they decide at once). */
  async #confirm(entry: Sent): Promise<void> {
    await this.#conn.sync();
    await this.#conn.sync();
    if (this.#done || !this.#pending.includes(entry)) return;
    // Neither it nor a refusal came back by now, but other messages did: the policy changed it, or
    // the server would have said it refused it.
    if (entry.others.length > 0) return this.#arrived(entry, entry.others[0]!, true);
    if (!this.#echoes) {
      this.#settle(entry);
      this.#unchecked++;
      this.#lastMoved = moves(this.#type, entry.message);
      this.#maybeDone();
      return;
    }
    const s = this.#feedbackTimeoutS;
    entry.timer = setTimeout(
      () =>
        this.#finish(
          1,
          `no word on message #${entry.n} within ${s} s: it neither reached ${this.#topic} nor was refused (a policy hook still deciding, an approval waiting? see the daemon's log)`,
        ),
      s * 1000,
    );
  }

  readonly #sendNext = (): void => {
    try {
      this.#sendOne();
    } catch (error) {
      // A fault of this command's (the message was checked against the type): said, not lost in a timer.
      this.#finish(1, `cannot send message #${this.#sent} on ${this.#topic}: ${errorText(error)}`);
    }
  };

  #sendOne(): void {
    if (this.#done) return;
    const n = ++this.#sent;
    // `now` is the time of each message
    const built = n === 1 ? { message: this.#first } : this.#template.build(this.#values, nowNs());
    if ('error' in built) return this.#finish(1, built.error);
    const bytes = this.#writer.writeMessage(built.message);
    this.#conn.publish(this.#channelId, bytes);
    const entry: Sent = { n, bytes, message: built.message, others: [] };
    this.#pending.push(entry);
    if (this.#printEvery > 0 && n % this.#printEvery === 0)
      this.#io.stdout(`publishing #${n}: ${pythonRepr(built.message, this.#type, this.#template)}\n\n`);
    void this.#confirm(entry);
    if (this.#times === undefined || n < this.#times)
      this.#ticker = setTimeout(
        this.#sendNext,
        Math.max(0, this.#startMs + (n * 1000) / this.#rateHz - performance.now()),
      );
  }
}
