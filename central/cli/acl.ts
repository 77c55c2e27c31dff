import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CommandIO, parseCommandArgs, UsageError } from 'auraison-edge/cli-kit';
import { readCentralYaml } from './fleet-api.ts';
import { errorText } from 'auraison-edge/util';

/**
 * `auraison-edge central acl [--config central.yaml] [--fleet F]... [--prefix P] [--central-user U] [--out FILE]`:
 * the broker's mosquitto acl_file for the fleet (central/broker-acl.ts), to stdout or FILE. The prefix, fleet
 * and central's username come from central.yaml's mqtt section (no secret: those of central.yaml may be unset here)
 * unless the options say otherwise. With --out it writes the mosquitto.conf that uses the file (two listeners:
 * brokerAclConf), shaped by --port, --central-port, --host, --password-file and --central-password-file, to --conf
 * FILE or alone on stdout (what it wrote, and the logins to make, go to stderr), so `> mosquitto.conf` takes it whole.
 */
export async function centralAcl(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    config: { type: 'string' },
    fleet: { type: 'string', multiple: true },
    prefix: { type: 'string' },
    'central-user': { type: 'string' },
    out: { type: 'string' },
    conf: { type: 'string' },
    port: { type: 'string' },
    'central-port': { type: 'string' },
    host: { type: 'string' },
    'password-file': { type: 'string' },
    'central-password-file': { type: 'string' },
  });
  const file = values.config ?? (io.env.AURAISON_CENTRAL_CONFIG || undefined);
  const mqtt = file !== undefined ? (await readCentralYaml(file, io.env, [])).mqtt : undefined;
  const centralUser = values['central-user'] ?? (mqtt?.username || undefined);
  if (centralUser === undefined)
    throw new UsageError(
      `central's MQTT username is needed: give --central-user NAME, or --config central.yaml with mqtt.username set`,
    );
  const options = {
    prefix: values.prefix ?? mqtt?.topic_prefix ?? 'auraison',
    fleets: values.fleet ?? [mqtt?.fleet ?? 'default'],
    centralUser,
  };
  const { brokerAcl, brokerAclConf, brokerAclProblem } = await import('../broker-acl.ts');
  const problem = brokerAclProblem(options);
  if (problem) throw new UsageError(problem);
  const acl = brokerAcl(options);
  if (values.conf !== undefined && values.out === undefined)
    throw new UsageError(
      '--conf FILE is the mosquitto.conf that uses the acl_file: give --out FILE for the acl_file too',
    );
  if (values.out === undefined) {
    io.stdout(acl);
    return 0;
  }
  const out = resolve(values.out);
  if (!written(out, acl, io)) return 1;
  const conf = brokerAclConf({
    aclFile: out,
    ...(values['password-file'] ? { passwordFile: resolve(values['password-file']) } : {}),
    ...(values['central-password-file'] ? { centralPasswordFile: resolve(values['central-password-file']) } : {}),
    ...(values.port ? { port: portOption(values.port, '--port') } : {}),
    ...(values['central-port'] ? { centralPort: portOption(values['central-port'], '--central-port') } : {}),
    ...(values.host ? { host: values.host } : {}),
  });
  const notes =
    `wrote ${out}: fleet ${options.fleets.join(', ')} under ${options.prefix}/, central logs in as ${centralUser}\n` +
    `each robot logs in with its robot id as its MQTT username (mosquitto_passwd FILE <robot id>) on the robots' listener,\n` +
    `and its stop connection as <robot id>/intents with the same password (mosquitto_passwd FILE <robot id>/intents);\n` +
    `central logs in on its own listener, whose password file holds central's logins alone\n`;
  if (values.conf === undefined) {
    io.stderr(`${notes}the mosquitto.conf that uses it follows on stdout (or give --conf FILE)\n`);
    io.stdout(conf);
    return 0;
  }
  const confFile = resolve(values.conf);
  if (!written(confFile, conf, io)) return 1;
  io.stderr(`${notes}wrote ${confFile}: the mosquitto.conf that uses it (mosquitto -c ${confFile})\n`);
  return 0;
}

/** Writes `text` to `path` (mode 0644: mosquitto reads it as its own user); false, said, when it cannot. */
function written(path: string, text: string, io: CommandIO): boolean {
  try {
    writeFileSync(path, text, { mode: 0o644 });
    return true;
  } catch (error) {
    io.stderr(`auraison-edge central acl: cannot write ${path}: ${errorText(error)}\n`);
    return false;
  }
}

/** A listener's port from an option: 1 to 65535. */
function portOption(text: string, name: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 65_535) throw new UsageError(`${name} ${text}: give a port, 1 to 65535`);
  return n;
}
