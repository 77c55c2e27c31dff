import {
  type Command,
  type CommandIO,
  MAX_TIMEOUT_OPTION_S,
  numberOption,
  parseCommandArgs,
  UsageError,
} from '../../cli-kit/index.ts';
import { resolveConfig } from '../config-option.ts';
import { brokerUrlProblem } from '../../config/index.ts';
import { loadCentralCli } from '../../components/index.ts';

/**
 * The operator's commands: the reference central's own CLI (central/cli), loaded on use through the component
 * registry, so `central check` and `--help` load none of it.
 */
const OPERATOR_COMMANDS: Record<string, (argv: string[], io: CommandIO) => Promise<number>> = {
  serve: async (argv, io) => (await loadCentralCli()).centralServe(argv, io),
  query: async (argv, io) => (await loadCentralCli()).centralQuery(argv, io),
  robots: async (argv, io) => (await loadCentralCli()).centralRobots(argv, io),
  intent: async (argv, io) => (await loadCentralCli()).centralIntent(argv, io),
  config: async (argv, io) => (await loadCentralCli()).centralConfigPush(argv, io),
  keygen: async (argv, io) => (await loadCentralCli()).centralKeygen(argv, io),
  acl: async (argv, io) => (await loadCentralCli()).centralAcl(argv, io),
};

const OPERATOR_HELP = `
The operator's commands (on central's host), for the reference central (docs/central.md):

central serve: the reference central, a stateless process: events from every robot of the fleet into the
fleet lakehouse (DuckLake), grants for uploads, the fleet page and its API (central.yaml's http section).
Several processes with one central.yaml split the fleet (MQTT 5 shared subscriptions).

central query "SQL": one read-only statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE) over the whole
fleet's lakehouse, through \`central serve\`'s HTTP API. Tables: events (robot, journal_id, seq, ts_ns,
kind, data), bags, and each table the robots upload (topic_odom for /odom), with a robot column.
--json prints {columns, rows}, --csv CSV.

central robots: each robot as central knows it: online or offline (with why), last heartbeat, journal
backlog, sync progress, its status page; and the uploads central handled.

central intent: publishes an intent on the robot's intents topic (QoS 1) with an MQTT 5 response topic,
prints each ack as it comes (accepted, replayed, pending, refused), then the run's states from the robot's
events until it ends or waits for approval. Its options are the daemon's \`intent\` command's
(--params, --text, --validators, --approval, --actor). A robot that is offline is said at once, with until
when the broker keeps the intent (--expiry-s): a robot back after that never runs it.

central keygen --out FILE: central's command signing key (Ed25519): the private key to FILE (mqtt.command_key
in central.yaml, or --command-key), the public key printed for each robot's central.command_keys.

central acl: the broker's mosquitto acl_file for the fleet, to stdout or --out FILE (then the mosquitto.conf
that uses it goes to --conf FILE, or alone on stdout, what was written said on stderr); it reads central.yaml's
mqtt section only and needs none of its secrets: each robot's login (MQTT username = its robot id) may publish only on its
own up topics and read only its own command topics; its stop login (<robot id>/intents, the same password:
the daemon's stop connection) reads its intents alone and publishes nothing; central's login (--central-user,
else central.yaml's mqtt.username) reads every robot's up topics and writes their command topics. --fleet may be
repeated.
The mosquitto.conf has two listeners: the robots' (--port, 1883; --password-file) ties each login's client id
to its username, so no login can knock a robot off; central's (--central-port, 1884; --central-password-file)
takes central's logins only. --host binds both to one address.

central config push: publishes FILE (YAML: the config keys to lay over the robot's config file) on the
robot's config topic as {config_id, config}, and prints the robot's ack: applied (with the components that
restarted), duplicate, refused (with each key path) or failed.

Options (serve):
  --config FILE      central.yaml (default: $AURAISON_CENTRAL_CONFIG)
  --token-file FILE  the fleet API's token on the file's first line, over http.token (a file keeps it out of ps)
  --command-key FILE sign central's commands with this key, over mqtt.command_key (central keygen makes it)

Options (keygen):
  --out FILE         the private key (PEM, mode 0600), its public key to FILE.pub; a key there is never replaced
  --json             print {"private_key_file", "public_key"}

Options (acl):
  --config FILE      central.yaml (default: $AURAISON_CENTRAL_CONFIG): its mqtt section's topic_prefix, fleet
                     and username (none of its secrets)
  --fleet F          a fleet the ACL covers, over mqtt.fleet (default: default); repeat it for several
  --prefix P         the topic prefix, over mqtt.topic_prefix (default: auraison)
  --central-user U   central's MQTT login, over mqtt.username
  --out FILE         write the acl_file to FILE (else it goes to stdout), and the mosquitto.conf that uses it
                     to --conf FILE or stdout; the options below shape that mosquitto.conf
  --conf FILE        with --out: the mosquitto.conf's file
  --port N           the robots' listener (default 1883)
  --central-port N   central's listener (default 1884)
  --host ADDR        bind both listeners to ADDR (default: every address)
  --password-file FILE  the robots' logins (default /etc/mosquitto/passwd)
  --central-password-file FILE  central's logins (default /etc/mosquitto/central.passwd)

Options (query, robots, intent, config push):
  --url URL          central serve's HTTP API (default: --config's http section, else $AURAISON_CENTRAL_URL,
                     else http://127.0.0.1:8790)
  --config FILE      central.yaml (default: $AURAISON_CENTRAL_CONFIG): its http section (query, robots) or
                     its mqtt section (intent, config push: broker, credentials, TLS files, fleet, prefix)
  --robot R          the robot (its robot.id)
  --broker URL       the MQTT broker, over central.yaml's mqtt.url
  --fleet F          the fleet, over central.yaml's mqtt.fleet (default: default)
  --command-key FILE intent, config push: sign with this key (over central.yaml's mqtt.command_key)
  --timeout-s N      intent, config push: how long to wait for the acks and the run (default 300)
  --expiry-s N       intent, config push: how long the command stays valid (default: intent 300, config push
                     3600): the broker drops it past then (MQTT 5 message expiry) and the robot refuses it past
                     its signed expiry, so a robot offline until later never acts on it; 0: no expiry
  --json             JSON: one object (query, robots), or JSON lines (intent, config push)

Exit codes: 0 done (intent: the run succeeded or waits for approval; config push: applied or duplicate),
1 failed, refused, or central serve or the broker not reachable, 2 bad usage.
`;

export const command: Command = {
  name: 'central',
  summary: 'Central: check the link, query the fleet, list robots, send intents and configs to robots',
  help: `Usage: auraison-edge central check [--url URL] [--config FILE] [--timeout-s N] [--json]
       auraison-edge central serve --config central.yaml [--token-file FILE] [--command-key FILE]
       auraison-edge central query "SQL" [--json | --csv] [--url URL | --config central.yaml]
       auraison-edge central robots [--json] [--url URL | --config central.yaml]
       auraison-edge central intent --robot R SKILL [--params JSON] [--timeout-s N] [--expiry-s N] [--json]
                                    [--config central.yaml | --broker URL --fleet F]
       auraison-edge central intent --robot R --text "go to the dock" [...]
       auraison-edge central config push --robot R FILE [--id ID] [--timeout-s N] [--expiry-s N] [--json]
                                         [--config central.yaml | --broker URL --fleet F]
       auraison-edge central keygen --out FILE [--json]
       auraison-edge central acl [--config central.yaml] [--fleet F]... [--prefix P] [--central-user U]
                                 [--out FILE [--conf FILE] [--port N] [--central-port N] [--host ADDR]
                                 [--password-file FILE] [--central-password-file FILE]]

central check (on a robot):

Connects to the central broker as the daemon would (MQTT 5, with the config's central.username, password,
ca_file, cert_file and key_file), and says how long the CONNACK took and what the broker told it (maximum
packet size, receive maximum, retain, maximum QoS, topic aliases, keep alive). Then it subscribes to the
robot's intents topic and publishes one QoS 1 message (schema auraison.check/1, not retained) on its
heartbeat topic, and says whether the broker granted and acknowledged them (an ACL says no with 0x87).
It says what failed: no broker there, DNS, TLS, credentials refused, no answer in time.

Then it probes the broker's authorization with the robot's login: it publishes (QoS 1, not retained, expiring
in 10 s) on the command topics (intents, config, grants, resend) and the events and status topics of a robot
id no robot has (<robot>.acl-probe-<random>), and subscribes to every robot's status, config and intents.
Each publish the broker takes, and any other robot's message it is sent, is a hole: the check is not ok and
points to \`auraison-edge central acl\` (docs/central-link.md, "Broker ACL and threat model").
It is not ok either while the config pins no key of central's (central.command_keys: the daemon would refuse
every command) or takes unsigned commands (central.require_signed_commands: false): \`central keygen\`.

It connects as <the daemon's client id>-check-<random>, with a clean start and no session kept: a daemon
running with this config keeps its own session, and the check leaves nothing behind at the broker. A broker
whose ACL is keyed on the client id may treat the check's id differently from the daemon's.

Options:
  --url URL      the broker to check instead of central.url (mqtt://, mqtts://, ws://, wss://); the
                 rest (credentials, TLS files, topics) still comes from the config
  --while-running  check even while this config's daemon is connected to central (by default the check
                 does not connect then: on central acl's broker it would take the daemon's connection)
  --config FILE  the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)
  --timeout-s N  each step's limit: CONNACK, SUBACK, PUBACK, DISCONNECT (default: central.connect_timeout_s)
  --json         print one JSON object

Exit codes: 0 every check passed, 1 one failed, 2 bad usage (no broker URL, or not an MQTT one).
${OPERATOR_HELP}`,
  async run(argv, io) {
    const operator = OPERATOR_COMMANDS[argv[0] ?? ''];
    if (operator) return operator(argv.slice(1), io);
    const { values, positionals } = parseCommandArgs(
      argv,
      {
        url: { type: 'string' },
        config: { type: 'string' },
        'timeout-s': { type: 'string' },
        json: { type: 'boolean' },
        'while-running': { type: 'boolean' },
      },
      { min: 1, max: 1, names: 'check' },
    );
    if (positionals[0] !== 'check')
      throw new UsageError(
        `unknown subcommand ${JSON.stringify(positionals[0])} (${['check', ...Object.keys(OPERATOR_COMMANDS)].join(', ')})`,
      );
    const urlProblem = values.url === undefined ? undefined : brokerUrlProblem(values.url);
    if (urlProblem) throw new UsageError(`--url: ${urlProblem}`);
    const timeoutS = numberOption('timeout-s', values['timeout-s'], {
      min: 0,
      exclusiveMin: true,
      max: MAX_TIMEOUT_OPTION_S,
    });
    const { config, file } = resolveConfig(values.config, io.env);
    const url = values.url ?? config.central.url;
    if (url === '')
      throw new UsageError(
        `no broker to check: give --url, or set central.url in ${file ?? 'the config (--config FILE)'}`,
      );
    // The config checks central.url only while central.enabled is true; a URL being set up is checked here.
    const configProblem = values.url === undefined ? brokerUrlProblem(url) : undefined;
    if (configProblem) throw new UsageError(`central.url: ${configProblem}`);
    const { checkCentral, formatCheck, connectedDaemon } = await import('../central-check.ts');
    // On central acl's broker a robot's login holds one connection: the check's would take the daemon's.
    const running = values['while-running'] ? undefined : connectedDaemon(config, io.cwd);
    if (running) {
      io.stderr(
        `auraison-edge central check: the daemon of this config (pid ${running.pid}) is connected to central; on a broker set up by \`central acl\` a robot's login holds one connection at a time, so the check's would take the daemon's place: stop the daemon to check, or give --while-running on a broker that does not tie client ids to logins\n`,
      );
      return 1;
    }
    const report = await checkCentral({
      central: config.central,
      stop: config.motion.stop,
      url,
      robot: config.robot.id,
      fleet: config.robot.fleet,
      timeoutMs: (timeoutS ?? config.central.connect_timeout_s) * 1000,
    });
    io.stdout(values.json ? `${JSON.stringify(report)}\n` : formatCheck(report));
    return report.ok ? 0 : 1;
  },
};
