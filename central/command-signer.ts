import { createPrivateKey, createPublicKey, generateKeyPairSync, randomInt, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { rawPublicKey, signCommand, type CommandAddress } from 'auraison-edge/protocol';
import { errorText } from 'auraison-edge/util';

/**
 * Central's signing key for what it sends robots (central-link/command-signature.ts): each command gets a
 * counter above the last this process gave, and at least the clock's microseconds, so the counters of several
 * processes (central serve, central intent) keep rising together. A few random microseconds on top keep two
 * processes that sign in the same microsecond apart: the robot takes a counter once.
 */
export class CommandSigner {
  readonly #key: KeyObject;
  readonly #now: () => number;
  #last = 0n;

  constructor(options: { key: KeyObject; now?: () => number }) {
    const { key, now = () => Date.now() } = options;
    this.#key = key;
    this.#now = now;
  }

  /** The key in a PEM file (`central keygen` writes one); a problem names the file and what to do. */
  static fromFile(path: string, where: string): CommandSigner {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new Error(
        `${where}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? errorText(error)}): make one with \`auraison-edge central keygen --out ${path}\``,
      );
    }
    let key: KeyObject;
    try {
      key = createPrivateKey(text);
    } catch (error) {
      throw new Error(`${where}: ${path} is not a PEM private key (${errorText(error)})`);
    }
    if (key.asymmetricKeyType !== 'ed25519')
      throw new Error(
        `${where}: ${path} holds a ${key.asymmetricKeyType ?? 'unknown'} key; commands are signed with Ed25519`,
      );
    return new CommandSigner({ key });
  }

  /** The base64 public key robots pin in central.command_keys. */
  get publicKey(): string {
    return rawPublicKey(createPublicKey(this.#key));
  }

  /**
   * The MQTT 5 user properties that sign `payload` for the robot and topic of `address`; with `lifetimeS`, valid
   * that long from the counter's time (its signed expiry), else for ever.
   */
  sign(address: CommandAddress, payload: string | Buffer, lifetimeS?: number): Record<string, string> {
    const clock = BigInt(this.#now()) * 1000n + BigInt(randomInt(1000));
    this.#last = clock > this.#last ? clock : this.#last + 1n;
    const expires = lifetimeS === undefined ? undefined : this.#last + BigInt(Math.round(lifetimeS * 1e6));
    return signCommand(this.#key, address, this.#last, Buffer.from(payload), expires);
  }
}

/**
 * Writes a new key pair: the private key to `path` (PEM, mode 0600), and its public key's base64 line to
 * `<path>.pub`. An existing key is never overwritten: every robot pinned it. Returns the public key.
 */
export function writeCommandKey(path: string): string {
  if (existsSync(path))
    throw new Error(
      `${path} exists: every robot that pinned its public key would refuse a new one; remove it yourself to replace it, or give another --out`,
    );
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  writeFileSync(path, privateKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600, flag: 'wx' });
  const line = rawPublicKey(publicKey);
  writeFileSync(`${path}.pub`, `${line}\n`, { mode: 0o644 });
  return line;
}
