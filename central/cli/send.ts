import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import { errorText, newId } from 'auraison-edge/util';
import { brokerUrlProblem } from 'auraison-edge/config';
import {
  type CommandIO,
  MAX_TIMEOUT_OPTION_S,
  numberOption,
  parseCommandArgs,
  UsageError,
} from 'auraison-edge/cli-kit';
import { readCentralYaml } from './fleet-api.ts';
import { converse, recordsOf, type Target } from './converse.ts';

/** The broker options the MQTT operator commands take: central.yaml's mqtt section, or each one given. */
const BROKER_OPTIONS = {
  robot: { type: 'string' },
  config: { type: 'string' },
  broker: { type: 'string' },
  fleet: { type: 'string' },
  'timeout-s': { type: 'string' },
  'command-key': { type: 'string' },
  'expiry-s': { type: 'string' },
  json: { type: 'boolean' },
} as const;

/** How long a command is valid by default: an intent is for now, a config for the day's work. */
const DEFAULT_EXPIRY_S = { intents: 300, config: 3600 } as const;
/** The longest --expiry-s: a robot's session at the broker lasts 7 days by default. */
const MAX_EXPIRY_S = 30 * 86_400;

const TERMINAL = new Set(['succeeded', 'failed', 'cancelled', 'interrupted']);

/** The broker, fleet and robot: --broker and --fleet over central.yaml's mqtt section (--config). */
async function target(
  values: {
    robot?: string;
    config?: string;
    broker?: string;
    fleet?: string;
    'timeout-s'?: string;
    'command-key'?: string;
    'expiry-s'?: string;
  },
  io: CommandIO,
  kind: 'intents' | 'config',
): Promise<Target> {
  const { robot } = values;
  if (robot === undefined) throw new UsageError('--robot R is required: the robot (its robot.id) to send to');
  const file = values.config ?? (io.env.AURAISON_CENTRAL_CONFIG || undefined);
  const mqtt = file !== undefined ? (await readCentralYaml(file, io.env, ['mqtt'])).mqtt : undefined;
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
  const expiryS = numberOption('expiry-s', values['expiry-s'], { min: 0, max: MAX_EXPIRY_S }) ?? DEFAULT_EXPIRY_S[kind];
  const { centralTopics, readTlsFiles } = await import('auraison-edge/protocol');
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
      throw new UsageError(errorText(error));
    }
    sign = (topic, payload) => signer.sign({ fleet, robot, topic }, payload, expiryS || undefined);
  } else
    io.stderr(
      "auraison-edge central: sending unsigned (no --command-key, no mqtt.command_key in central.yaml): a robot that pins central's key refuses it\n",
    );
  const timeoutMs = (timeoutS ?? 300) * 1000;
  return { url, fleet, robot, topics, options, timeoutMs, expiryS: expiryS || undefined, sign };
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
  const t = await target(values, io, 'intents');
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
    what: `intent ${intent.intent_id}`,
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
    throw new UsageError(`${file}: cannot read it (${(error as NodeJS.ErrnoException).code ?? errorText(error)})`);
  }
  const configId = values.id ?? newId();
  if (!/^[A-Za-z0-9_.:-]{1,128}$/.test(configId))
    throw new UsageError('--id: 1 to 128 characters of A-Z a-z 0-9 _ . : -');
  const t = await target(values, io, 'config');
  const say = (line: Record<string, unknown>, words: string) =>
    io.stdout(values.json ? `${JSON.stringify(line)}\n` : `${words}\n`);
  return converse(t, io, {
    topic: t.topics.config,
    payload: JSON.stringify({ config_id: configId, config: text }),
    signed: 'config',
    what: `config ${configId}`,
    id: configId,
    extraTopics: [],
    onSent: () => say({ sent: { config_id: configId } }, `config ${configId} (${file}) sent to ${t.robot}`),
    onAck: (ack) => {
      say({ ack }, ackWords(ack));
      return ack.status === 'applied' || ack.status === 'duplicate' ? 0 : 1;
    },
    onEvents: () => undefined,
    lateWords: `no ack from ${t.robot} within the time (--timeout-s): it is not subscribed to its config topic, or it is busy`,
  });
}
function jsonOption(name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new UsageError(`--${name}: not JSON (${errorText(error)})`);
  }
}
