import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { Cleanup } from '../helpers/cleanups.ts';
import { closedPort } from '../helpers/closed-port.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { startBroker, type Broker } from '../helpers/mosquitto.ts';
import { stopLogin } from '../../central-link/topics.ts';
import { FLEET } from './central-harness.ts';

/** The robots' logins of a lab broker, and central's: each password is `<user>-pass` (a stop login's, its robot's). */
export const ROBOT_USERS = ['tb3-1', 'tb3-2'] as const;
export const CENTRAL_USER = 'central';

export interface LabBroker {
  /** The robots' listener (with `listeners`, the one whose client ids are tied to logins). */
  broker: Broker;
  /** Where central logs in: its own listener with `listeners`, else the robots'. */
  centralUrl: string;
  login: (user: string) => { username: string; password: string };
  /** The acl_file `central acl` wrote (empty without `acl`). */
  aclText: string;
  /** What the broker has logged so far (with `listeners`, at the log types `central acl`'s conf names). */
  brokerLog: () => string;
}

/** A login of the lab's: a stop login has its robot's password. */
const login = (user: string) => ({ username: user, password: `${user.replace(/\/intents$/, '')}-pass` });

/**
 * A real mosquitto set up as docs/central-link.md tells a lab: `allow_anonymous false`, a login per robot (its
 * robot id), its stop login unless `stopLogins` is false, and one for central; with `acl`, the acl_file
 * `auraison-edge central acl` writes; with `listeners`, the whole mosquitto.conf it prints: the robots' listener tying
 * each login's client id to its username, and central's, with a password file of central's own.
 */
export async function labBroker(
  cleanups: Cleanup[],
  {
    acl = true,
    listeners = false,
    stopLogins = true,
  }: { acl?: boolean; listeners?: boolean; stopLogins?: boolean } = {},
): Promise<LabBroker> {
  const folder = tempDir('lab-broker-');
  cleanups.push(folder.cleanup);
  const passwords = join(folder.path, 'passwd');
  const centralPasswords = join(folder.path, 'central.passwd');
  const add = (file: string, user: string, create: boolean) =>
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', ...(create ? ['-c'] : []), file, user, login(user).password]);
  // Without its own listener central logs in beside the robots, in their password file.
  const robotsFile = [...(listeners ? [] : [CENTRAL_USER]), ...ROBOT_USERS];
  robotsFile.forEach((user, i) => add(passwords, user, i === 0));
  // Each robot's stop login, with the robot's password, as the docs add it (a broker set up before them has none).
  if (stopLogins) for (const robot of ROBOT_USERS) add(passwords, stopLogin(robot), false);
  if (listeners) add(centralPasswords, CENTRAL_USER, true);
  const aclFile = join(folder.path, 'acl');
  const centralPort = await closedPort();
  // `central acl` prints the conf for port 1883; the broker helper gives the robots' listener a free port.
  const conf = acl || listeners ? await centralAcl(aclFile, passwords, centralPasswords, centralPort) : '';
  const ownAcl = (text: string) => (acl ? text : text.replaceAll(`acl_file ${aclFile}`, ''));
  // The conf sends the log where the broker's log_dest does; here a file, after the helper's `log_dest none`.
  const logFile = join(folder.path, 'mosquitto.log');
  const broker = await startBroker(
    listeners
      ? {
          listeners: (port) => ownAcl(conf).replace('listener 1883 ', `listener ${port} `),
          extraConfig: `log_dest file ${logFile}`,
        }
      : { extraConfig: ownAcl(`allow_anonymous false\npassword_file ${passwords}\nacl_file ${aclFile}`) },
  );
  cleanups.push(broker.cleanup);
  return {
    broker,
    centralUrl: listeners ? `mqtt://127.0.0.1:${centralPort}` : broker.url,
    login,
    aclText: acl ? readFileSync(aclFile, 'utf8') : '',
    brokerLog: () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : ''),
  };
}

/**
 * Runs `auraison-edge central acl --out FILE --conf FILE` as a lab would, and returns the mosquitto.conf it wrote
 * (stdout carries nothing then; what it wrote is said on stderr).
 */
async function centralAcl(aclFile: string, passwords: string, centralPasswords: string, centralPort: number) {
  const confFile = `${aclFile}.mosquitto.conf`;
  const made = await runCli([
    'central',
    'acl',
    '--fleet',
    FLEET,
    '--central-user',
    CENTRAL_USER,
    '--out',
    aclFile,
    '--conf',
    confFile,
    '--host',
    '127.0.0.1',
    '--password-file',
    passwords,
    '--central-password-file',
    centralPasswords,
    '--central-port',
    String(centralPort),
  ]);
  expect(made.code, made.stderr).toBe(0);
  expect(made.stdout).toBe('');
  expect(made.stderr).toContain(`wrote ${confFile}: the mosquitto.conf that uses it`);
  const conf = readFileSync(confFile, 'utf8');
  expect(conf).toContain(`acl_file ${aclFile}`);
  return conf;
}
