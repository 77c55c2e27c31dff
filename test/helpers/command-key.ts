import { generateKeyPairSync } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MqttClient } from 'mqtt';
import { CommandSigner } from '../../central/command-signer.ts';
import { COMMAND_TOPICS, type CommandTopic } from '../../central-link/index.ts';

/**
 * Central's command key for tests: one pair per test process. Robots under test pin `TEST_COMMAND_KEY` (the
 * base64 line `central keygen` prints); what tests send as central is signed with `testSigner`.
 */
const pair = generateKeyPairSync('ed25519');
/** The private key, for a test that signs as another central process would (its own counter, its own clock). */
export const testKey = pair.privateKey;
export const testSigner = new CommandSigner({ key: pair.privateKey });
export const TEST_COMMAND_KEY = testSigner.publicKey;

/** Writes the test key as central.yaml's mqtt.command_key file in `dir` (once), and returns its path. */
export function testCommandKeyFile(dir: string): string {
  const path = join(dir, 'test-central-command.pem');
  if (!existsSync(path)) writeFileSync(path, testKey.export({ format: 'pem', type: 'pkcs8' }), { mode: 0o600 });
  return path;
}

/** The user properties that sign `payload` for the robot and topic of `<prefix>/<fleet>/<robot>/<topic>`. */
export function commandSignature(
  topic: string,
  payload: string | Buffer,
  signer: CommandSigner = testSigner,
): Record<string, string> {
  const levels = topic.split('/');
  const [fleet, robot, leaf] = levels.slice(-3);
  if (!fleet || !robot || !COMMAND_TOPICS.includes(leaf as CommandTopic))
    throw new Error(`${topic} is not a command topic (<prefix>/<fleet>/<robot>/intents|config|grants|resend)`);
  return signer.sign({ fleet, robot, topic: leaf as CommandTopic }, payload);
}

/** Publishes a command as central does: QoS 1, signed for its topic's robot, with any other properties given. */
export async function publishCommand(
  client: MqttClient,
  topic: string,
  payload: string | Buffer,
  options: { retain?: boolean; properties?: Record<string, unknown> } = {},
): Promise<void> {
  const { retain = false, properties = {} } = options;
  await client.publishAsync(topic, payload, {
    qos: 1,
    retain,
    properties: { ...properties, userProperties: commandSignature(topic, payload) },
  });
}
