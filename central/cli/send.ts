import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IClientOptions, MqttClient } from 'mqtt';
import { newId } from '../../daemon/contract/index.ts';
import { brokerUrlProblem } from '../../daemon/config/index.ts';
import {
  type CommandIO,
  MAX_TIMEOUT_OPTION_S,
  numberOption,
  parseCommandArgs,
  UsageError,
} from '../../daemon/cli-kit/index.ts';
import { readCentralYaml } from './fleet-api.ts';

/** The broker options the MQTT operator commands take: central.yaml's mqtt section, or each one given. */
const BROKER_OPTIONS = {
  robot: { type: 'string' },
  config: { type: 'string' },
  broker: { type: 'string' },
  fleet: { type: 'string' },
  'timeout-s': { type: 'string' },
  'command-key': { type: 'string' },
  json: { type: 'boolean' },
} as const;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

interface Target {
  url: string;
  fleet: string;
  robot: string;
  topics: { intents: string; config: string; acks: string; events: string; status: string };
  options: IClientOptions;
  timeoutMs: number;
  /** The user properties that sign a payload for this robot on its intents or config topic; {} with no key. */
  sign: (topic: 'intents' | 'config', payload: string) => Record<string, string>;
}

/** The broker, fleet and robot: --broker and --fleet over central.yaml's mqtt section (--config). */
async function target(
  values: {
    robot?: string;
    config?: string;
    broker?: string;
    fleet?: string;
    'timeout-s'?: string;
    'command-key'?: string;
  },
  io: CommandIO,
): Promise<Target> {
  const { robot } = values;
  if (robot === undefined) throw new UsageError('--robot R is required: the robot (its robot.id) to send to');
  const file = values.config ?? (io.env.AURAISON_CENTRAL_CONFIG || undefined);
  const mqtt = file !== undefined ? (await readCentralYaml(file, io.env)).mqtt : undefined;
  const url = values.broker ?? mqtt?.url ?? '';
  if (url === '') throw new UsageError('no broker: give --broker URL, or --config central.yaml (its mqtt.url)');
  const problem = brokerUrlProblem(url);
  if (problem) throw new UsageError(`${values.broker !== undefined ? '--broker' : 'mqtt.url'}: ${problem}`);
  const fleet = values.fleet ?? mqtt?.fleet ?? 'default';
  const timeoutS = numberOption('timeout-s', values['timeout-s'], {
    min: 0,
    exclusiveMin: true,
    max: MAX_TIMEOUT_OPTION_S,
  });
  const { centralTopics, readTlsFiles } = await import('../../central-link/index.ts');
  const topics = centralTopics(mqtt?.topic_prefix ?? 'auraison', fleet, robot);
  const options: IClientOptions = {
    protocolVersion: 5,
    clientId: `auraison-central-cli-${randomBytes(4).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: 10_000,
    ...(mqtt?.username ? { username: mqtt.username } : {}),
    ...(mqtt?.password ? { password: mqtt.password } : {}),
    ...(mqtt ? readTlsFiles(mqtt) : {}),
  };
  const keyFile = values['command-key'] ?? (mqtt?.command_key || undefined);
  let sign: Target['sign'] = () => ({});
  if (keyFile !== undefined) {
    const { CommandSigner } = await import('../command-signer.ts');
    let signer: InstanceType<typeof CommandSigner>;
    try {
      signer = CommandSigner.fromFile(
        keyFile,
        values['command-key'] !== undefined ? '--command-key' : 'mqtt.command_key',
      );
    } catch (error) {
      throw new UsageError((error as Error).message);
    }
    sign = (topic, payload) => signer.sign({ fleet, robot, topic }, payload);
  } else
    io.stderr(
      "auraison-edge central: sending unsigned (no --command-key, no mqtt.command_key in central.yaml): a robot that pins central's key refuses it\n",
    );
  return { url, fleet, robot, topics, options, timeoutMs: (timeoutS ?? 300) * 1000, sign };
}

/** An open MQTT 5 connection for one request and its answers on a response topic of its own. */
interface Session {
  client: MqttClient;
  responseTopic: string;
  /** Resolves with the broker's PUBACK reason code. */
  publish(topic: string, payload: string, correlation: Buffer, userProperties: Record<string, string>): Promise<number>;
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
  const responseTopic = `${t.topics.acks}/cli-${randomBytes(6).toString('hex')}`;
  // The robot's retained status comes right after the SUBACK, before any PUBACK: whether it ever connected.
  await client.subscribeAsync([responseTopic, t.topics.status, ...extraTopics], { qos: 1 });
  return {
    client,
    responseTopic,
    publish: (topic, payload, correlation, userProperties) =>
      new Promise((resolve, reject) => {
        const properties = {
          responseTopic,
          correlationData: correlation,
          contentType: 'application/json',
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

/** The message as the robot's ack put it, for a person. */
function ackWords(ack: Record<string, unknown>): string {
  const error = ack.error as
    { code?: string; message?: string; issues?: { path: string; message: string }[] } | undefined;
  const parts = [`ack ${String(ack.status)}`];
  if (typeof ack.run_id === 'string')
    parts.push(`run ${ack.run_id}${ack.run_status ? ` ${String(ack.run_status)}` : ''}`);
  if (Array.isArray(ack.restarted) && ack.restarted.length > 0) parts.push(`restarted ${ack.restarted.join(', ')}`);
  if (Array.isArray(ack.pending_restart) && ack.pending_restart.length > 0)
    parts.push(`waiting for a daemon restart: ${ack.pending_restart.join(', ')}`);
  if (typeof ack.duplicate_of === 'string') parts.push(`same as ${ack.duplicate_of}`);
  if (error) parts.push(`${error.code ?? 'error'}: ${error.message ?? ''}`);
  for (const issue of error?.issues ?? []) parts.push(`\n  ${issue.path}: ${issue.message}`);
  return parts.join(': ').replace(/: \n/g, '\n');
}

/**
 * `central intent --robot R SKILL [--params JSON] | --text T`: publishes the intent on the robot's intents
 * topic with an MQTT 5 response topic, prints its acks as they come, then follows the run in the robot's
 * events until it ends or waits for approval (or --timeout-s).
 */
export async function centralIntent(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      ...BROKER_OPTIONS,
      params: { type: 'string' },
      text: { type: 'string' },
      validators: { type: 'string' },
      approval: { type: 'boolean' },
      actor: { type: 'string' },
    },
    { max: 1, names: 'SKILL' },
  );
  const skill = positionals[0];
  if ((skill === undefined) === (values.text === undefined)) throw new UsageError('give either a SKILL or --text');
  const params = jsonOption('params', values.params) ?? {};
  if (params === null || typeof params !== 'object' || Array.isArray(params))
    throw new UsageError('--params: expected a JSON object');
  if (values.text !== undefined) (params as Record<string, unknown>).text = values.text;
  const validators = jsonOption('validators', values.validators);
  if (validators !== undefined) (params as Record<string, unknown>).validators = validators;
  const t = await target(values, io);
  const intent = {
    intent_id: newId(),
    type: skill ?? 'natural_language',
    params,
    policy_ctx: {
      actor: values.actor ?? io.env.USER ?? 'central-cli',
      source: 'mqtt',
      ...(values.approval ? { requires_approval: true } : {}),
    },
    targets: [t.robot],
  };
  const say = (line: Record<string, unknown>, text: string) =>
    io.stdout(values.json ? `${JSON.stringify(line)}\n` : `${text}\n`);
  return converse(t, io, {
    topic: t.topics.intents,
    payload: JSON.stringify(intent),
    signed: 'intents',
    id: intent.intent_id,
    extraTopics: [t.topics.events],
    onSent: () => say({ sent: intent }, `intent ${intent.intent_id} (${intent.type}) sent to ${t.robot}`),
    onAck: (ack) => {
      say({ ack }, ackWords(ack));
      if (ack.status === 'refused') return 1;
      if (typeof ack.run_status === 'string' && TERMINAL.has(ack.run_status))
        return ack.run_status === 'succeeded' ? 0 : 1;
      return undefined;
    },
    onEvents: (batch) => {
      for (const record of recordsOf(batch)) {
        const data = record.data as Record<string, unknown> | undefined;
        if (record.kind !== 'run_state' || data?.intent_id !== intent.intent_id) continue;
        const status = String(data.status);
        say({ run: data }, `run ${String(data.run_id)}: ${status}${data.reason ? ` (${String(data.reason)})` : ''}`);
        if (TERMINAL.has(status)) return status === 'succeeded' ? 0 : 1;
        if (status === 'awaiting_approval') return 0;
      }
      return undefined;
    },
    lateWords: `the run had not ended within the time (--timeout-s); it goes on on ${t.robot}: see \`auraison-edge central query\` or its status page`,
  });
}

/** `central config push --robot R FILE [--id ID]`: the config message on the robot's config topic, and its ack. */
export async function centralConfigPush(argv: string[], io: CommandIO): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    { ...BROKER_OPTIONS, id: { type: 'string' } },
    { min: 2, max: 2, names: 'push FILE' },
  );
  if (positionals[0] !== 'push')
    throw new UsageError(`unknown subcommand config ${JSON.stringify(positionals[0])} (push)`);
  const file = positionals[1]!;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(
      `${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
  const configId = values.id ?? newId();
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(configId))
    throw new UsageError('--id: 1 to 128 characters of A-Z a-z 0-9 _ . : -');
  const t = await target(values, io);
  const say = (line: Record<string, unknown>, words: string) =>
    io.stdout(values.json ? `${JSON.stringify(line)}\n` : `${words}\n`);
  return converse(t, io, {
    topic: t.topics.config,
    payload: JSON.stringify({ config_id: configId, config: text }),
    signed: 'config',
    id: configId,
    extraTopics: [],
    onSent: () => say({ sent: { config_id: configId } }, `config ${configId} (${file}) sent to ${t.robot}`),
    onAck: (ack) => {
      say({ ack }, ackWords(ack));
      return ack.status === 'applied' || ack.status === 'duplicate' ? 0 : 1;
    },
    onEvents: () => undefined,
    lateWords: `no ack from ${t.robot} within the time (--timeout-s): it is offline (its session at the broker keeps the config until it connects), or it is not subscribed`,
  });
}

interface Conversation {
  topic: string;
  payload: string;
  /** The command topic the payload is signed for. */
  signed: 'intents' | 'config';
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
async function converse(t: Target, io: CommandIO, c: Conversation): Promise<number> {
  let session: Session;
  try {
    session = await open(t, c.extraTopics);
  } catch (error) {
    io.stderr(`auraison-edge central: ${(error as Error).message}\n`);
    return 1;
  }
  const { client } = session;
  try {
    let finish: (code: number) => void = () => undefined;
    const finished = new Promise<number>((resolve) => (finish = resolve));
    let status: Record<string, unknown> | undefined;
    // Answers that pass the PUBACK wait for it: what was sent is said first.
    let held: (() => void)[] | undefined = [];
    client.on('message', (topic, payload, packet) => {
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
    const puback = await session.publish(c.topic, c.payload, Buffer.from(c.id), t.sign(c.signed, c.payload));
    const problem = pubackProblem(puback, t);
    if (problem) {
      io.stderr(`auraison-edge central: ${problem}\n`);
      return 1;
    }
    c.onSent();
    for (const take of held) take();
    held = undefined;
    // The retained status usually came with the SUBACK; it may come later, so its absence is said only at the end.
    if (status && status.state !== 'online')
      io.stderr(
        `auraison-edge central: robot ${t.robot} is offline${typeof status.reason === 'string' ? ` (${status.reason})` : ''}: its broker session keeps the message until it connects\n`,
      );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<number>((resolve) => (timer = setTimeout(() => resolve(-2), t.timeoutMs)));
    const code = await Promise.race([finished, late]).finally(() => clearTimeout(timer));
    if (code === -2 && !status)
      io.stderr(
        `auraison-edge central: no answer, and robot ${t.robot} of fleet ${t.fleet} has never connected to this broker (no retained status on ${t.topics.status}): check --robot, --fleet and the topic prefix\n`,
      );
    else if (code === -2) io.stderr(`auraison-edge central: ${c.lateWords}\n`);
    if (code === -1) io.stderr(`auraison-edge central: the broker closed the connection\n`);
    return code < 0 ? 1 : code;
  } finally {
    await client.endAsync().catch(() => undefined); // the answer is in; a slow DISCONNECT changes nothing
  }
}

function recordsOf(batch: unknown): { kind?: unknown; data?: unknown }[] {
  const records = isObject(batch) ? batch.records : undefined;
  return Array.isArray(records) ? records.filter(isObject) : [];
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined; // not ours to judge: a robot's garbage is central serve's to report
  }
}

function jsonOption(name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${name}: not JSON (${(error as Error).message})`);
  }
}
