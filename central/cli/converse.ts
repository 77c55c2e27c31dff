import { randomBytes } from 'node:crypto';
import type { IClientOptions, IPublishPacket, MqttClient } from 'mqtt';
import type { CommandIO } from 'auraison-edge/cli-kit';
import { errorText, within } from 'auraison-edge/util';

/** Where a command goes and how: the broker, the robot's topics, the signature, its expiry. */
export interface Target {
  url: string;
  fleet: string;
  robot: string;
  topics: { intents: string; config: string; acks: string; events: string; status: string };
  options: IClientOptions;
  timeoutMs: number;
  /** How long the command is valid (its MQTT 5 message expiry and its signed one); undefined: for ever. */
  expiryS: number | undefined;
  /** The user properties that sign a payload for this robot on its intents or config topic; {} with no key. */
  sign: (topic: 'intents' | 'config', payload: string) => Record<string, string>;
}

/** An open MQTT 5 connection for one request and its answers on a response topic of its own. */
type OnMessage = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

interface Session {
  client: MqttClient;
  responseTopic: string;
  /** Takes the messages, those that came before it was called first (a retained status comes with the SUBACK). */
  listen(onMessage: OnMessage): void;
  /** Resolves with the broker's PUBACK reason code. */
  publish(
    topic: string,
    payload: string,
    correlation: Buffer,
    userProperties: Record<string, string>,
    expiryS: number | undefined,
  ): Promise<number>;
}

async function open(t: Target, extraTopics: string[]): Promise<Session> {
  const { default: mqtt } = await import('mqtt');
  const client = mqtt.connect(t.url, t.options);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from the broker at ${t.url} within 10 s`)), 10_000);
    client.once('connect', () => {
      clearTimeout(timer);
      resolve();
    });
    client.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`cannot connect to the broker at ${t.url}: ${error.message}`));
    });
  });
  // Kept from the start: the retained status may come in the same read as the SUBACK, before anyone listens.
  const early: Parameters<OnMessage>[] = [];
  let listener: OnMessage | undefined;
  client.on('message', (topic, payload, packet) =>
    listener ? listener(topic, payload, packet) : early.push([topic, payload, packet]),
  );
  const responseTopic = `${t.topics.acks}/cli-${randomBytes(6).toString('hex')}`;
  // The robot's retained status comes right after the SUBACK, before any PUBACK: whether it ever connected.
  await client.subscribeAsync([responseTopic, t.topics.status, ...extraTopics], { qos: 1 });
  return {
    client,
    responseTopic,
    listen: (onMessage) => {
      listener = onMessage;
      for (const message of early.splice(0)) onMessage(...message);
    },
    publish: (topic, payload, correlation, userProperties, expiryS) =>
      new Promise((resolve, reject) => {
        const properties = {
          responseTopic,
          correlationData: correlation,
          contentType: 'application/json',
          // The broker drops it once expired, unsent to a robot offline until then; the signed expiry is the
          // robot's own check, for a broker that keeps it anyway.
          ...(expiryS === undefined ? {} : { messageExpiryInterval: Math.ceil(expiryS) }),
          // mqtt.js writes an empty userProperties as a malformed packet: the broker drops the connection.
          ...(Object.keys(userProperties).length > 0 ? { userProperties } : {}),
        };
        client.publish(topic, payload, { qos: 1, properties }, (error, packet) => {
          const code = (packet as { reasonCode?: number } | undefined)?.reasonCode;
          if (error && typeof (error as { code?: unknown }).code !== 'number') reject(error);
          else resolve(code ?? (error as { code?: number } | undefined)?.code ?? 0);
        });
      }),
  };
}

/** What a PUBACK reason code says about the robot, when it is not a plain success. */
function pubackProblem(code: number, t: Target): string | undefined {
  if (code === 0x10)
    return `no subscriber at the broker for ${t.topics.intents}: robot ${t.robot} of fleet ${t.fleet} has never connected with this broker and prefix (check --robot, --fleet and central.yaml's mqtt.topic_prefix)`;
  if (code >= 0x80)
    return `the broker refused the message (reason 0x${code.toString(16)}): check its ACL for this client`;
  return undefined;
}
export interface Conversation {
  topic: string;
  payload: string;
  /** The command topic the payload is signed for. */
  signed: 'intents' | 'config';
  /** What is sent, in words: `intent 019a...`, `config 2026-11-24.3`. */
  what: string;
  /** The correlation data, and what an ack names. */
  id: string;
  extraTopics: string[];
  onSent: () => void;
  /** An exit code once the conversation is over, else undefined. */
  onAck: (ack: Record<string, unknown>) => number | undefined;
  onEvents: (batch: unknown) => number | undefined;
  lateWords: string;
}

/** Connects, publishes, and takes the answers until one ends it or the time is up. */
export async function converse(t: Target, io: CommandIO, c: Conversation): Promise<number> {
  let session: Session;
  try {
    session = await open(t, c.extraTopics);
  } catch (error) {
    io.stderr(`auraison-edge central: ${errorText(error)}\n`);
    return 1;
  }
  const { client } = session;
  try {
    let finish: (code: number) => void = () => undefined;
    const finished = new Promise<number>((resolve) => (finish = resolve));
    let status: Record<string, unknown> | undefined;
    // Answers that pass the PUBACK wait for it: what was sent is said first.
    let held: (() => void)[] | undefined = [];
    session.listen((topic, payload, packet) => {
      const json = parseJson(payload);
      if (topic === t.topics.status) {
        status = isObject(json) ? json : {};
        return;
      }
      const take = () => {
        let code: number | undefined;
        if (topic !== session.responseTopic) code = c.onEvents(json);
        else if (packet.properties?.correlationData?.toString() === c.id && isObject(json)) code = c.onAck(json);
        if (code !== undefined) finish(code);
      };
      if (held) held.push(take);
      else take();
    });
    client.on('close', () => finish(-1));
    const sentAt = Date.now();
    const puback = await session.publish(c.topic, c.payload, Buffer.from(c.id), t.sign(c.signed, c.payload), t.expiryS);
    const problem = pubackProblem(puback, t);
    if (problem) {
      io.stderr(`auraison-edge central: ${problem}\n`);
      return 1;
    }
    c.onSent();
    for (const take of held) take();
    held = undefined;
    // The retained status usually came with the SUBACK; it may come later, so its absence is said only at the end.
    if (status && status.state !== 'online') io.stderr(`auraison-edge central: ${queuedWords(t, c, status, sentAt)}\n`);
    const code = await within(finished, t.timeoutMs, -2);
    if (code === -2 && !status)
      io.stderr(
        `auraison-edge central: no answer, and robot ${t.robot} of fleet ${t.fleet} has never connected to this broker (no retained status on ${t.topics.status}): check --robot, --fleet and the topic prefix\n`,
      );
    else if (code === -2 && status && status.state !== 'online')
      io.stderr(`auraison-edge central: no answer: ${queuedWords(t, c, status, sentAt)}\n`);
    else if (code === -2) io.stderr(`auraison-edge central: ${c.lateWords}\n`);
    if (code === -1) io.stderr(`auraison-edge central: the broker closed the connection\n`);
    return code < 0 ? 1 : code;
  } finally {
    await client.endAsync().catch(() => undefined); // the answer is in; a slow DISCONNECT changes nothing
  }
}
/** A command sent to an offline robot: queued at the broker, until when, and what happens after. */
function queuedWords(t: Target, c: Conversation, status: Record<string, unknown>, sentAt: number): string {
  const why = typeof status.reason === 'string' ? ` (${status.reason})` : '';
  const offline = `robot ${t.robot} is offline${why}: the ${c.what} is queued at the broker`;
  if (t.expiryS === undefined)
    return `${offline} with no expiry (--expiry-s 0): it acts whenever ${t.robot} connects, even days from now`;
  const until = new Date(sentAt + t.expiryS * 1000).toISOString();
  return `${offline} until ${until} (--expiry-s ${t.expiryS}); if ${t.robot} is not back by then it is dropped and never acts (a broker that keeps it anyway: the robot refuses it as expired)`;
}

export function recordsOf(batch: unknown): { kind?: unknown; data?: unknown }[] {
  const records = isObject(batch) ? batch.records : undefined;
  return Array.isArray(records) ? records.filter(isObject) : [];
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined; // not ours to judge: a robot's garbage is central serve's to report
  }
}
