import { parseDocument } from 'yaml';
import { errorText, jsonHazard, nowNs, type ValidationIssue } from '../daemon/util/index.ts';
import type { OverlayApplied, OverlayRequest, OverlayStaged } from '../daemon/lifecycle/index.ts';
import { ACK_SCHEMA, type Ack, type ReplyTo } from './intent-intake.ts';

/** PUBACK reason codes (MQTT 5, 3.4.2.1). */
const ACCEPTED = 0;
const REFUSED = 0x80;
const QUOTA_EXCEEDED = 0x97;
const PAYLOAD_FORMAT_INVALID = 0x99;

/** Aliases (`*name`) a YAML config may expand, as for a config file: a guard against alias bombs. */
const MAX_ALIAS_COUNT = 100;

/** A config id: what central names a config by, echoed in the ack and kept for dedupe. */
const CONFIG_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

export interface RemoteConfigOptions {
  robot: string;
  maxBytes: number;
  /** The daemon's (ComponentContext.stageConfigOverlay); undefined where no daemon runs the link. */
  stage: ((request: OverlayRequest) => Promise<OverlayStaged>) | undefined;
  /** Publishes an ack; never throws (a failure is logged by the caller). */
  sendAck: (ack: Ack, to: ReplyTo) => void;
  logRefusal: (key: string, fields: Record<string, unknown>, message: string) => void;
  /** Logs what an applied config did. */
  logApplied: (fields: Record<string, unknown>, message: string) => void;
}

class Refusal extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly puback: number,
    readonly issues?: ValidationIssue[],
  ) {
    super(message);
  }
}

/**
 * Takes the configs central sends on the config topic: `{"config_id": "...", "config": {...} | "yaml text"}`,
 * the keys to lay over the robot's config file. The daemon validates them over the file as a reload would,
 * refuses keys the file protects, keeps the config durably and applies it as a reload; the broker's PUBACK
 * goes once it is durable (or refused), and the ack says what came of it: applied (restarted components,
 * degraded ones), duplicate, refused (with each key path), or failed. Nothing here throws.
 */
export class RemoteConfig {
  readonly #robot: string;
  readonly #maxBytes: number;
  readonly #stage: RemoteConfigOptions['stage'];
  readonly #sendAck: RemoteConfigOptions['sendAck'];
  readonly #logRefusal: RemoteConfigOptions['logRefusal'];
  readonly #logApplied: RemoteConfigOptions['logApplied'];
  readonly counts = { applied: 0, duplicate: 0, refused: 0, failed: 0 };

  constructor(options: RemoteConfigOptions) {
    const { robot, maxBytes, stage, sendAck, logRefusal, logApplied } = options;
    this.#robot = robot;
    this.#maxBytes = maxBytes;
    this.#stage = stage;
    this.#sendAck = sendAck;
    this.#logRefusal = logRefusal;
    this.#logApplied = logApplied;
  }

  /** Handles one message on the config topic; resolves with the PUBACK reason code. */
  async handle(payload: Buffer, to: ReplyTo): Promise<number> {
    let configId: string | null = null;
    try {
      const raw = this.#decode(payload);
      configId = idOf(raw);
      const request = toRequest(raw);
      if (!this.#stage) throw new Refusal('unavailable', 'this daemon takes no config from central', REFUSED);
      const staged = await this.#stage(request);
      if (staged.status === 'refused') throw new Refusal(staged.code, staged.message, REFUSED, staged.issues);
      if (staged.status === 'duplicate') {
        this.counts.duplicate++;
        this.#ack({ config_id: configId, status: 'duplicate', duplicate_of: staged.duplicate_of }, to);
        return ACCEPTED;
      }
      // Durable now: the broker may forget it. The outcome's ack follows once the reload ran.
      void staged.applied.then(
        (applied) => this.#applied(applied, configId, to),
        (error: unknown) => this.#applied({ status: 'failed', message: errorText(error) }, configId, to),
      );
      return ACCEPTED;
    } catch (error) {
      const refusal = error instanceof Refusal ? error : new Refusal('failed', errorText(error), REFUSED);
      this.counts.refused++;
      const { code, message, issues } = refusal;
      this.#ack(
        { config_id: configId, status: 'refused', error: { code, message, ...(issues ? { issues } : {}) } },
        to,
      );
      this.#logRefusal(`config:${code}`, { config_id: configId, err: message }, 'central: config refused');
      return refusal.puback;
    }
  }

  #applied(applied: OverlayApplied, configId: string | null, to: ReplyTo): void {
    if (applied.status === 'failed') {
      this.counts.failed++;
      this.#ack({ config_id: configId, status: 'failed', error: { code: 'failed', message: applied.message } }, to);
      this.#logRefusal('config:failed', { config_id: configId, err: applied.message }, 'central: config not applied');
      return;
    }
    this.counts.applied++;
    const { restarted, pending_restart, degraded } = applied;
    this.#ack({ config_id: configId, status: 'applied', restarted, pending_restart, degraded }, to);
    this.#logApplied({ config_id: configId, restarted, pending_restart, degraded }, 'central: config applied');
  }

  #decode(payload: Buffer): unknown {
    if (payload.length > this.#maxBytes)
      throw new Refusal(
        'too_large',
        `the config message is ${payload.length} bytes, over central.max_intent_bytes (${this.#maxBytes})`,
        QUOTA_EXCEEDED,
      );
    let raw: unknown;
    try {
      raw = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
    } catch (error) {
      throw new Refusal(
        'bad_request',
        `the config message is not UTF-8 JSON (${errorText(error)}): send {"config_id": "...", "config": {...}}`,
        PAYLOAD_FORMAT_INVALID,
      );
    }
    const hazard = jsonHazard(raw);
    if (hazard) throw new Refusal('bad_request', `${hazard.path}: ${hazard.message}`, PAYLOAD_FORMAT_INVALID, [hazard]);
    return raw;
  }

  #ack(fields: Omit<Ack, 'schema' | 'robot' | 'ts' | 'kind' | 'intent_id'>, to: ReplyTo): void {
    this.#sendAck(
      { schema: ACK_SCHEMA, robot: this.#robot, kind: 'config', intent_id: null, ...fields, ts: nowNs().toString() },
      to,
    );
  }
}

function idOf(raw: unknown): string | null {
  const id = raw !== null && typeof raw === 'object' ? (raw as { config_id?: unknown }).config_id : undefined;
  return typeof id === 'string' && CONFIG_ID.test(id) ? id : null;
}

/** The message's config id and keys, the keys given as a JSON object or as YAML text. */
function toRequest(raw: unknown): OverlayRequest {
  const bad = (path: string, message: string) =>
    new Refusal('bad_request', `${path}: ${message}`, PAYLOAD_FORMAT_INVALID, [{ path, message }]);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw bad('', 'expected an object: {"config_id": "...", "config": {...}}');
  const { config_id, config, ...rest } = raw as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined) throw bad(unknown, 'unknown key (a config message has config_id and config)');
  if (typeof config_id !== 'string' || !CONFIG_ID.test(config_id))
    throw bad('config_id', 'required: 1 to 128 characters of A-Z a-z 0-9 _ . : -');
  const keys = typeof config === 'string' ? fromYaml(config) : config;
  if (keys === null || typeof keys !== 'object' || Array.isArray(keys))
    throw bad('config', 'expected the config as a mapping of sections, or as YAML text of one');
  const reference = envReference(keys);
  if (reference !== undefined)
    throw bad(
      `config.${reference}`,
      "${...} reads the robot's environment (its secrets): central's config must give values as they are",
    );
  return { config_id, config: keys as Record<string, unknown> };
}

/** The dotted path of the first string holding a `${` reference, which the config loader would interpolate. */
function envReference(value: unknown, path = ''): string | undefined {
  if (typeof value === 'string') return value.includes('${') ? path : undefined;
  if (value === null || typeof value !== 'object') return undefined;
  for (const [key, child] of Object.entries(value)) {
    const found = envReference(child, Array.isArray(value) ? `${path}[${key}]` : path ? `${path}.${key}` : key);
    if (found !== undefined) return found;
  }
  return undefined;
}

function fromYaml(text: string): unknown {
  const doc = parseDocument(text, { uniqueKeys: true, merge: true });
  const error = doc.errors[0];
  if (error) {
    const message = error.message.split('\n')[0]!;
    throw new Refusal('bad_request', `config: ${message}`, PAYLOAD_FORMAT_INVALID, [{ path: 'config', message }]);
  }
  try {
    const keys: unknown = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT }) ?? {};
    const hazard = jsonHazard(keys);
    if (hazard) throw new Error(`${hazard.path}: ${hazard.message}`);
    return keys;
  } catch (error) {
    const message = errorText(error);
    throw new Refusal('bad_request', `config: ${message}`, PAYLOAD_FORMAT_INVALID, [{ path: 'config', message }]);
  }
}
