import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startCentralServe } from '../../central/serve.ts';
import { silentLogger } from '../../daemon/log.ts';
import { serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { startMinio } from '../helpers/minio.ts';
import { startBroker } from '../helpers/mosquitto.ts';

const cleanups = cleanupStack(afterAll);
const work = tempDir('lab-secrets-');
afterAll(() => work.cleanup());

/** A lab's files with their secrets as `${VAR}`: what a shell that exports none of them is handed. */
const CENTRAL_YAML = `mqtt:
  url: mqtt://127.0.0.1:1884
  username: central
  password: \${AURAISON_CENTRAL_PASSWORD}
  fleet: lab
storage:
  endpoint: http://127.0.0.1:9000
  bucket: fleet
  access_key_id: lab-admin
  secret_access_key: \${AURAISON_STORAGE_SECRET}
`;
const ROBOT_YAML = `data_dir: ./tb1-data
robot: {id: tb1, fleet: lab}
api: {host: 127.0.0.1, port: 1}
central:
  enabled: true
  url: mqtt://127.0.0.1:1883
  username: tb1
  password: \${TB1_MQTT_PASSWORD}
`;
/** The environment with none of the secrets set. */
const BARE = { AURAISON_CENTRAL_PASSWORD: '', AURAISON_STORAGE_SECRET: '', TB1_MQTT_PASSWORD: '' };

describe('a lab central without guesswork: secrets asked only where needed', () => {
  const central = join(work.path, 'central.yaml');
  const robot = join(work.path, 'tb1.yaml');
  writeFileSync(central, CENTRAL_YAML);
  writeFileSync(robot, ROBOT_YAML);

  it('central acl reads only the mqtt section; --out puts the mosquitto.conf alone on stdout, or in --conf FILE', async () => {
    const acl = await runMain(['central', 'acl', '--config', central], { env: BARE });
    expect(acl.code, acl.stderr).toBe(0);
    expect(acl.stdout).toContain('user central');
    const out = join(work.path, 'acl');
    const printed = await runMain(['central', 'acl', '--config', central, '--out', out], { env: BARE });
    expect(printed.code, printed.stderr).toBe(0);
    expect(printed.stdout).not.toMatch(/wrote|mosquitto\.conf:/);
    expect(printed.stdout).toContain(`acl_file ${out}`);
    expect(printed.stderr).toMatch(/^wrote .*acl: fleet lab/);
    const conf = join(work.path, 'mosquitto.conf');
    const filed = await runMain(['central', 'acl', '--config', central, '--out', out, '--conf', conf], { env: BARE });
    expect(filed.code, filed.stderr).toBe(0);
    expect(filed.stdout).toBe('');
    expect(readFileSync(conf, 'utf8')).toBe(printed.stdout);
    // both files end their last line
    expect(printed.stdout).toMatch(/\nlog_type debug\n$/);
    expect(readFileSync(out, 'utf8')).toMatch(/[^\n]\n$/);
    const lone = await runMain(['central', 'acl', '--config', central, '--conf', conf], { env: BARE });
    expect(lone.code).toBe(2);
    expect(lone.stderr).toContain('give --out FILE for the acl_file too');
  });

  it('a client command does not warn of a secret this shell does not export; a config error still is said', async () => {
    const status = await runMain(['status', '--config', robot], { env: BARE, cwd: work.path });
    expect(status.stderr).not.toMatch(/not a valid config/);
    const broken = join(work.path, 'broken.yaml');
    writeFileSync(broken, `${ROBOT_YAML}sim: {sped: 2}\n`);
    const said = await runMain(['status', '--config', broken], { env: BARE, cwd: work.path });
    expect(said.stderr).toMatch(/not a valid config[^]*sim\.sped: unknown key/);
  });

  it('install-service gives a config with ${VAR} an EnvironmentFile, and names what it lacks', async () => {
    const envFile = join(work.path, 'edge.env');
    const args = ['install-service', '--config', robot, '--user', '--workdir', work.path, '--env-file', envFile];
    const none = await runMain([...args, '--dry-run'], { env: BARE, cwd: work.path });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(`environment variable TB1_MQTT_PASSWORD is not set`);
    expect(none.stderr).toContain(`the service reads such secrets from ${envFile} (EnvironmentFile=)`);
    // Exported in this shell only: the unit is written, and the install says the service will not have it.
    const shell = await runMain([...args, '--dry-run'], { env: { ...BARE, TB1_MQTT_PASSWORD: 'x' }, cwd: work.path });
    expect(shell.code, shell.stderr).toBe(0);
    expect(shell.stdout).toContain(`EnvironmentFile=${envFile}`);
    expect(shell.stderr).toContain(`write TB1_MQTT_PASSWORD=... to ${envFile} (it does not exist yet; chmod 600)`);
    writeFileSync(envFile, 'TB1_MQTT_PASSWORD=tb1-secret\n', { mode: 0o600 });
    const unitFile = join(work.path, 'auraison-edge.service');
    const filed = await runMain([...args, '--output', unitFile], { env: BARE, cwd: work.path });
    expect(filed.code, filed.stderr).toBe(0);
    expect(filed.stderr).not.toMatch(/TB1_MQTT_PASSWORD/); // the file has it (what else it says: the unit's /tmp)
    expect(readFileSync(unitFile, 'utf8')).toContain(`EnvironmentFile=${envFile}`);
    const verify = spawnSync('systemd-analyze', ['verify', '--user', unitFile], { encoding: 'utf8' });
    if (verify.error === undefined)
      expect(verify.stderr.split('\n').filter((l) => l.includes('auraison-edge.service'))).toEqual([]);
  });

  it('central serve refuses to start without its bucket, saying how to make it', { timeout: 120_000 }, async () => {
    const [broker, minio] = await Promise.all([startBroker(), startMinio()]);
    cleanups.push(broker.cleanup, minio.cleanup);
    const settings = serveSettings({ broker, minio, dir: work.path, bucket: 'fleet' });
    await expect(startCentralServe(settings, { log: silentLogger() })).rejects.toThrow(
      `central serve: storage.bucket fleet does not exist at ${minio.endpoint}: make it (MinIO: \`mc mb <alias>/fleet\``,
    );
  });
});
