import { createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { errorText } from '../daemon/util/index.ts';

/**
 * Central's signature on what it sends a robot (docs/central-link.md, "Signed commands"): Ed25519 over the
 * fleet, the robot, the command's topic (intents, config, grants, resend), a counter and the payload's bytes,
 * so a command signed for one robot or one topic is refused on another, and one taken before is refused again.
 * It rides in MQTT 5 user properties, so the payload stays what each topic's parser already reads.
 */
export const COMMAND_SIGNATURE_SCHEME = 'auraison.command/1';
/** The scheme of a command that carries its expiry: the same bytes with the expiry's line after the counter. */
export const EXPIRING_COMMAND_SCHEME = 'auraison.command/2';

/** The user properties a signed command carries. */
export const SIGNATURE_PROPERTY = 'auraison-sig';
export const COUNTER_PROPERTY = 'auraison-counter';
/** `<fleet>/<robot>` the command was signed for: said apart, so a command for another robot is named as such. */
export const SIGNED_FOR_PROPERTY = 'auraison-for';
/**
 * When the command stops being valid, in the counter's units (central's clock, microseconds since the epoch):
 * signed, so a broker or an attacker cannot extend it; absent, the command never expires.
 */
export const EXPIRES_PROPERTY = 'auraison-expires';

/** The topics that carry commands: the last level of `<prefix>/<fleet>/<robot>/<topic>`. */
export type CommandTopic = 'intents' | 'config' | 'grants' | 'resend';
export const COMMAND_TOPICS: readonly CommandTopic[] = ['intents', 'config', 'grants', 'resend'];

export interface CommandAddress {
  fleet: string;
  robot: string;
  topic: CommandTopic;
}

/**
 * The signed bytes. Fleet and robot ids are `[A-Za-z0-9_.-]+`, the counter and the expiry are decimal, so the
 * newlines cannot be moved between fields; the payload, last, is taken whole. A command with an expiry is signed
 * under its own scheme, so one signed without cannot be given an expiry, nor one signed with it lose it.
 */
export function commandSignedBytes(
  address: CommandAddress,
  counter: bigint,
  payload: Buffer,
  expires?: bigint,
): Buffer {
  const { fleet, robot, topic } = address;
  const head =
    expires === undefined
      ? `${COMMAND_SIGNATURE_SCHEME}\n${fleet}\n${robot}\n${topic}\n${counter}\n`
      : `${EXPIRING_COMMAND_SCHEME}\n${fleet}\n${robot}\n${topic}\n${counter}\n${expires}\n`;
  return Buffer.concat([Buffer.from(head, 'utf8'), payload]);
}

/** The user properties that sign `payload` for `address` with central's private key, valid until `expires`. */
export function signCommand(
  privateKey: KeyObject,
  address: CommandAddress,
  counter: bigint,
  payload: Buffer,
  expires?: bigint,
): Record<string, string> {
  const signature = sign(null, commandSignedBytes(address, counter, payload, expires), privateKey);
  return {
    [SIGNATURE_PROPERTY]: signature.toString('base64'),
    [COUNTER_PROPERTY]: counter.toString(),
    [SIGNED_FOR_PROPERTY]: `${address.fleet}/${address.robot}`,
    ...(expires === undefined ? {} : { [EXPIRES_PROPERTY]: expires.toString() }),
  };
}

/** Whether `signature` is one of `keys`' over the command. */
export function commandSignatureValid(
  keys: readonly KeyObject[],
  address: CommandAddress,
  counter: bigint,
  payload: Buffer,
  signature: Buffer,
  expires?: bigint,
): boolean {
  const bytes = commandSignedBytes(address, counter, payload, expires);
  return keys.some((key) => verify(null, bytes, key, signature));
}

/** The base64 of a raw 32-byte Ed25519 public key: what `central keygen` prints for a robot's config. */
export function rawPublicKey(key: KeyObject): string {
  const jwk = key.export({ format: 'jwk' });
  return Buffer.from(jwk.x!, 'base64url').toString('base64');
}

/**
 * A public key as `central.command_keys` gives it: PEM text, the base64 of the raw 32 bytes, or the path of a
 * file holding either. A problem is thrown in words naming `where`.
 */
export function parseCommandKey(value: string, where: string): KeyObject {
  const text = value.trim();
  if (isKeyText(text)) return keyFromText(text, where);
  let file: string;
  try {
    file = readFileSync(text, 'utf8').trim();
  } catch (error) {
    throw new Error(
      `${where}: neither a public key nor a file that can be read (${(error as NodeJS.ErrnoException).code ?? errorText(error)}): give the base64 line \`auraison-edge central keygen\` prints, a PEM public key, or the path of a file holding one`,
    );
  }
  if (!isKeyText(file)) throw new Error(`${where}: ${text} holds no PEM or base64 public key`);
  return keyFromText(file, `${where} (${text})`);
}

function isKeyText(text: string): boolean {
  return text.startsWith('-----BEGIN') || /^[A-Za-z0-9+/]{43}=$/.test(text);
}

function keyFromText(text: string, where: string): KeyObject {
  const key = text.startsWith('-----BEGIN') ? pemKey(text, where) : rawKey(text, where);
  if (key.asymmetricKeyType !== 'ed25519')
    throw new Error(`${where}: a ${key.asymmetricKeyType ?? 'unknown'} key; central signs commands with Ed25519`);
  return key;
}

function pemKey(text: string, where: string): KeyObject {
  if (text.includes('PRIVATE KEY'))
    throw new Error(
      `${where}: this is central's private key: give the robot only the public key (central keygen prints it)`,
    );
  try {
    return createPublicKey(text);
  } catch (error) {
    throw new Error(`${where}: not a PEM public key: ${errorText(error)}`);
  }
}

function rawKey(text: string, where: string): KeyObject {
  const raw = Buffer.from(text, 'base64');
  if (raw.length !== 32) throw new Error(`${where}: ${raw.length} bytes, an Ed25519 public key has 32`);
  return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' });
}
