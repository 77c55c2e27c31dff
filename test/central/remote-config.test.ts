import { PORTS } from '../../daemon/contract/index.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { publishCommand } from '../helpers/command-key.ts';
import { parse, stringify } from 'yaml';
import { formatStatus } from '../../daemon/cli/commands/status.ts';
import { loadConfigFile } from '../../daemon/config/load.ts';
import { DEFAULT_SETTABLE_KEYS } from '../../daemon/config/sections/central.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { tempDir } from '../helpers/cli.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { running } from '../helpers/daemon.ts';
import { CentralLink } from '../../central-link/index.ts';
import { skillIntent } from '../helpers/intents.ts';
import { waitFor } from '../helpers/wait.ts';
import { brokerAndCentral, centralConfig, FLEET, PREFIX, ROBOT, sendIntent, waitOnline } from './central-harness.ts';

const cleanups = cleanupStack();

/** A file that lets central switch the recorder (the default lets it choose topics only). */
const RECORDER_SETTABLE = { remote_config: { settable_keys: [...DEFAULT_SETTABLE_KEYS, 'recorder'] } };

type Ack = Record<string, unknown> & { config_id?: string; status?: string };

/**
 * A daemon run from a config file (the local authority central's config is laid over), with the central
 * link on; `start()` again after `stop()` is a restart on the same data dir. `write()` changes the file.
 */
function fileDaemon(url: string, config: Record<string, unknown> = {}, central: Record<string, unknown> = {}) {
  const dir = tempDir('central-remote-config-');
  const file = join(dir.path, 'edge.yaml');
  const write = (more: Record<string, unknown> = {}, centralMore: Record<string, unknown> = {}) =>
    writeFileSync(
      file,
      stringify({
        data_dir: './data',
        robot: { id: ROBOT, fleet: FLEET },
        api: { enabled: false, port: 0 },
        foxglove: { enabled: false },
        ...config,
        ...more,
        central: centralConfig(url, { ...central, ...centralMore }),
      }),
    );
  write();
  let daemon: Daemon | undefined;
  const handle = {
    dir: dir.path,
    file,
    write,
    get daemon(): Daemon {
      if (!daemon) throw new Error('not started');
      return daemon;
    },
    async start(): Promise<Daemon> {
      const { config } = loadConfigFile(file, {});
      daemon = new Daemon({ config, configFile: file, log: pino({ level: 'silent' }), cwd: dir.path });
      await daemon.start();
      await waitOnline(daemon);
      return daemon;
    },
    async stop(): Promise<void> {
      await daemon?.close();
      daemon = undefined;
    },
  };
  cleanups.push(async () => {
    await handle.stop();
    dir.cleanup();
  });
  return handle;
}

async function setup(config: Record<string, unknown> = {}, central: Record<string, unknown> = {}) {
  const { broker, central: centralClient } = await brokerAndCentral(cleanups);
  const robot = fileDaemon(broker.url, config, central);
  await robot.start();
  const configAcks = () => centralClient.acks().filter((a) => a.kind === 'config') as Ack[];
  /** Sends a config as central would, and resolves with its ack (the n-th ack for that id). */
  const send = async (message: unknown, nth = 1): Promise<Ack> => {
    const id = (message as { config_id?: string }).config_id;
    await publishCommand(centralClient.client, `${PREFIX}/config`, JSON.stringify(message));
    let ack: Ack | undefined;
    await waitFor(() => (ack = configAcks().filter((a) => a.config_id === id)[nth - 1]) !== undefined, `ack ${id}`);
    return ack!;
  };
  return { broker, central: centralClient, robot, send, configAcks };
}

function busyPort(): Promise<{ port: number; server: Server }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') return reject(new Error('no port'));
      resolve({ port: address.port, server });
    });
  });
}

describe('config from central, against a real mosquitto', () => {
  it('applies a valid config over the local file, restarts only what changed, keeps it durably, and acks applied', async () => {
    const { central, robot } = await setup({}, RECORDER_SETTABLE);
    await central.client.subscribeAsync('central/replies/#', { qos: 1 });
    const correlationData = Buffer.from('req-1');
    await publishCommand(
      central.client,
      `${PREFIX}/config`,
      JSON.stringify({ config_id: 'cfg-1', config: { recorder: { enabled: true }, journal: { retain_days: 3 } } }),
      { properties: { responseTopic: 'central/replies/1', correlationData } },
    );
    await waitFor(() => central.received.some((m) => m.topic === 'central/replies/1'), 'the reply');
    const reply = central.received.find((m) => m.topic === 'central/replies/1')!;
    expect(reply.json).toMatchObject({
      kind: 'config',
      config_id: 'cfg-1',
      status: 'applied',
      restarted: expect.arrayContaining(['recorder']),
      degraded: [],
    });
    expect((reply.json as { restarted: string[] }).restarted).not.toContain('central');
    expect(Buffer.from(reply.packet.properties!.correlationData!).equals(correlationData)).toBe(true);
    const { daemon } = robot;
    expect(daemon.config.recorder.enabled).toBe(true);
    expect(daemon.config.journal.retain_days).toBe(3);
    expect(daemon.components.has('recorder')).toBe(true);
    const kept = JSON.parse(readFileSync(join(robot.dir, 'data', 'state', 'central-config.json'), 'utf8'));
    expect(kept.overlay).toMatchObject({ config_id: 'cfg-1', config: { journal: { retain_days: 3 } } });
    // The file is the base: central's config changed the running config, never the file.
    expect((parse(readFileSync(robot.file, 'utf8')) as { journal?: unknown }).journal).toBeUndefined();
  });

  it('takes the config as YAML text too, and a protected key set to the value the file has', async () => {
    const { send, robot } = await setup();
    const ack = await send({ config_id: 'cfg-yaml', config: `robot: {id: ${ROBOT}}\nlog:\n  level: debug\n` });
    expect(ack).toMatchObject({ status: 'applied', restarted: [] });
    expect(robot.daemon.config.log.level).toBe('debug');
  });

  it('refuses an invalid config with the key path of every issue, and changes nothing', async () => {
    const { send, robot, configAcks, central } = await setup();
    const ack = await send({
      config_id: 'cfg-bad',
      config: { journal: { retain_days: 'soon' }, recorder: { colour: 'red' }, apii: {} },
    });
    expect(ack).toMatchObject({ status: 'refused', error: { code: 'invalid' } });
    const paths = (ack.error as { issues: { path: string }[] }).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['journal.retain_days', 'recorder.colour', 'apii']));
    expect(robot.daemon.config.journal.retain_days).not.toBe('soon');

    const garbage = await send({ config_id: 'cfg-list', config: [1, 2] });
    expect(garbage).toMatchObject({ status: 'refused', error: { code: 'bad_request', issues: [{ path: 'config' }] } });
    const message = { config_id: 'has spaces', config: { log: { level: 'debug' } } };
    await publishCommand(central.client, `${PREFIX}/config`, JSON.stringify(message));
    let noId: Ack | undefined;
    await waitFor(
      () => (noId = configAcks().find((a) => a.config_id === null)) !== undefined,
      'the ack of a config with a bad id',
    );
    expect(noId).toMatchObject({ status: 'refused', error: { issues: [{ path: 'config_id' }] } });
    const secret = await send({ config_id: 'cfg-env', config: { recorder: { dir: 'bags-${HOME}' } } });
    expect(secret).toMatchObject({ status: 'refused', error: { issues: [{ path: 'config.recorder.dir' }] } });
    expect(robot.daemon.config.log.level).toBe('info');
  });

  it('refuses keys the local file protects, naming each, and the central and robot sections always', async () => {
    const { send, robot } = await setup({}, { remote_config: { protected_keys: ['motion.velocity', 'recorder'] } });
    const ack = await send({
      config_id: 'cfg-fast',
      config: {
        motion: { velocity: { max_linear_x: 5 } },
        recorder: { enabled: true },
        central: { url: 'mqtt://elsewhere:1883' },
        robot: { id: 'renamed' },
        log: { level: 'debug' },
      },
    });
    expect(ack).toMatchObject({ status: 'refused', error: { code: 'protected' } });
    const paths = (ack.error as { issues: { path: string }[] }).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['central.url', 'motion.velocity.max_linear_x', 'recorder.enabled', 'robot.id']);
    expect(robot.daemon.config.motion.velocity.max_linear_x).toBe(0.22);
    expect(robot.daemon.config.log.level).toBe('info'); // refused whole: no part of it applied
  });

  it('protects the safety limits by default', async () => {
    const { send } = await setup();
    const ack = await send({
      config_id: 'cfg-fence',
      config: {
        motion: { geofence: { polygon: [] } },
        agent: { rules: { quotas: { max_tool_calls: 1000 } } },
        data_dir: '/tmp/elsewhere',
      },
    });
    expect(ack).toMatchObject({ status: 'refused', error: { code: 'protected' } });
    const paths = (ack.error as { issues: { path: string }[] }).issues.map((i) => i.path).sort();
    expect(paths).toEqual(['agent.rules.quotas.max_tool_calls', 'data_dir']);
  });

  it('answers a config sent again (same id, or same content) as a duplicate, and applies it once', async () => {
    const { send, robot } = await setup({}, RECORDER_SETTABLE);
    const config = { recorder: { enabled: true } };
    expect(await send({ config_id: 'cfg-a', config })).toMatchObject({
      status: 'applied',
      restarted: expect.arrayContaining(['recorder']),
    });
    const recorder = robot.daemon.ports.get(PORTS.recorder);
    expect(await send({ config_id: 'cfg-a', config }, 2)).toMatchObject({ status: 'duplicate', duplicate_of: 'cfg-a' });
    expect(await send({ config_id: 'cfg-b', config })).toMatchObject({ status: 'duplicate', duplicate_of: 'cfg-a' });
    expect(robot.daemon.ports.get(PORTS.recorder)).toBe(recorder); // not restarted again
    const health = robot.daemon.status().components.central!.details as { configs: Record<string, number> };
    expect(health.configs).toMatchObject({ applied: 1, duplicate: 2 });
  });

  it('applies a config that breaks a component: that part degrades, the ack names it, the link stays up', async () => {
    const { port, server } = await busyPort();
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    // The file lets central move the Foxglove bridge (the API is never central's to change).
    const { send, robot } = await setup(
      {},
      { remote_config: { settable_keys: ['foxglove.enabled', 'foxglove.port'] } },
    );
    const ack = await send({ config_id: 'cfg-port', config: { foxglove: { enabled: true, port } } });
    expect(ack).toMatchObject({ status: 'applied', restarted: ['foxglove'] });
    const degraded = ack.degraded as { component: string; error: string }[];
    expect(degraded).toHaveLength(1);
    expect(degraded[0]!.component).toBe('foxglove');
    expect(degraded[0]!.error).toMatch(/EADDRINUSE|in use/i);
    expect(robot.daemon.status().components.foxglove?.state).toBe('failed');
    // A config that puts it right is taken over the same link.
    expect(await send({ config_id: 'cfg-port-0', config: { foxglove: { enabled: true, port: 0 } } })).toMatchObject({
      status: 'applied',
      degraded: [],
    });
  });

  it('keeps the config across a restart, and a local reload keeps it over the file unless the file protects the key', async () => {
    const { send, robot, central } = await setup();
    expect(await send({ config_id: 'cfg-keep', config: { journal: { retain_days: 3 } } })).toMatchObject({
      status: 'applied',
    });
    await robot.stop();
    const daemon = await robot.start();
    expect(daemon.config.journal.retain_days).toBe(3);
    expect(daemon.status().central_config).toMatchObject({ config_id: 'cfg-keep', in_force: true });
    expect(formatStatus(daemon.status(), 'test')).toContain('central config cfg-keep (received ');
    await waitFor(
      () =>
        central.received.some(
          (m) =>
            m.topic === `${PREFIX}/heartbeat` &&
            (m.json as { config?: { config_id?: string } }).config?.config_id === 'cfg-keep',
        ),
      'a heartbeat naming the config in force',
    );

    // The file changes a key central set, and another: central's value holds, the file's other change applies.
    robot.write({ journal: { retain_days: 5 }, log: { level: 'warn' } });
    expect(await daemon.reloadFile({})).toMatchObject({ ok: true });
    expect(daemon.config.journal.retain_days).toBe(3);
    expect(daemon.config.log.level).toBe('warn');

    // The file protects the key: central's config is set aside, the file alone runs.
    robot.write({ journal: { retain_days: 5 } }, { remote_config: { protected_keys: ['journal'] } });
    expect(await daemon.reloadFile({})).toMatchObject({ ok: true });
    expect(daemon.config.journal.retain_days).toBe(5);
    expect(daemon.status().central_config).toMatchObject({
      config_id: 'cfg-keep',
      in_force: false,
      set_aside: expect.stringContaining('journal.retain_days'),
    });
    expect(formatStatus(daemon.status(), 'test')).toMatch(/central config cfg-keep .*SET ASIDE/);
  });

  it('switches the agent off without restarting the link that acks it, and intents are then refused', async () => {
    const { send, robot, central } = await setup({}, { remote_config: { settable_keys: ['agent.enabled'] } });
    const link = running(robot.daemon, CentralLink);
    expect(link).toBeDefined();
    const ack = await send({ config_id: 'cfg-no-agent', config: { agent: { enabled: false } } });
    expect(ack).toMatchObject({ status: 'applied', restarted: ['agent'] });
    expect(running(robot.daemon, CentralLink)).toBe(link);
    expect(robot.daemon.components.has('agent')).toBe(false);
    const intent = skillIntent('stop', {});
    await sendIntent(central.client, intent);
    await waitFor(() => central.acks().some((a) => a.intent_id === intent.intent_id), 'the intent ack');
    expect(central.acks().find((a) => a.intent_id === intent.intent_id)).toMatchObject({
      status: 'refused',
      error: { message: expect.stringContaining('agent.enabled: false') },
    });
  });

  it('refuses, by key, what took a robot over: the API off, the latch off, approvals gone, unsynced data deleted, the journal cut, the bridge moved, a policy served elsewhere', async () => {
    const { send, robot } = await setup(
      { agent: { require_approval: ['publish'] } },
      { remote_config: { settable_keys: ['agent', 'retention', 'journal', 'zenoh', 'policies'] } },
    );
    const before = structuredClone(robot.daemon.config);
    const ack = await send({
      config_id: 'cfg-takeover',
      config: {
        api: { port: 9 }, // the harness runs it off: moved, the operator's stop would not find it
        motion: { stop: { latch: false }, velocity: { max_linear_x: 5 } },
        agent: { require_approval: [] },
        retention: { allow_unsynced_delete: true },
        journal: { fsync: 'never' },
        zenoh: { endpoint: 'ws://attacker.example:10000' },
        // A remote policy of central's choosing would drive the robot's loops.
        policies: {
          pi0: {
            remote: { openpi: 'ws://attacker.example:8000' },
            inputs: { obs: { shape: [2], sources: [{ constant: [0, 0] }] } },
            outputs: { actions: { shape: [10, 2] } },
          },
        },
        recorder: { enabled: true },
      },
    });
    expect(ack).toMatchObject({ status: 'refused', error: { code: 'protected' } });
    const issues = (ack.error as { issues: { path: string; message: string }[] }).issues;
    // Every key of the remote policy (its defaults filled in), none taken.
    const remote = issues.filter((i) => i.path.startsWith('policies.pi0.remote.'));
    expect(remote.map((i) => i.path)).toContain('policies.pi0.remote.openpi');
    for (const i of remote)
      expect(i.message).toBe("central may never change policies.*.remote: only the robot's config file may");
    expect(
      issues
        .map((i) => i.path)
        .filter((path) => !path.startsWith('policies.pi0.remote.'))
        .sort(),
    ).toEqual(
      [
        'agent.require_approval',
        'motion.stop.latch',
        'api.port',
        'journal.fsync',
        'motion.velocity.max_linear_x',
        'recorder.enabled',
        'retention.allow_unsynced_delete',
        'zenoh.endpoint',
      ].sort(),
    );
    expect(issues.find((i) => i.path === 'api.port')!.message).toMatch(/central may never change api/);
    // recorder is not in this file's settable_keys: refused too, naming what to add.
    expect(issues.find((i) => i.path === 'recorder.enabled')!.message).toMatch(
      /not in central\.remote_config\.settable_keys/,
    );
    expect(robot.daemon.config).toEqual(before);
  });

  it("refuses by default the recorder switched off and the journal cut to 1 MB, and takes the recorder's topics", async () => {
    const { send, robot } = await setup({ recorder: { enabled: true } });
    const before = structuredClone(robot.daemon.config);
    const ack = await send({
      config_id: 'cfg-blind',
      config: { recorder: { enabled: false }, journal: { max_mb: 1 } },
    });
    expect(ack).toMatchObject({ status: 'refused', error: { code: 'protected' } });
    const issues = (ack.error as { issues: { path: string; message: string }[] }).issues;
    expect(issues.map((i) => i.path).sort()).toEqual(['journal.max_mb', 'recorder.enabled']);
    for (const issue of issues) expect(issue.message).toMatch(/^not in central\.remote_config\.settable_keys: add /);
    expect(robot.daemon.config).toEqual(before);
    expect(robot.daemon.components.has('recorder')).toBe(true);
    // What a fleet tunes still goes: which topics are recorded.
    const narrowed = await send({ config_id: 'cfg-topics', config: { recorder: { exclude: ['/camera/**'] } } });
    expect(narrowed).toMatchObject({ status: 'applied' });
    expect(robot.daemon.config.recorder.exclude).toEqual(['/camera/**']);
  });

  it('refuses every config when the local file switches remote config off', async () => {
    const { send, robot } = await setup({}, { remote_config: { enabled: false } });
    const ack = await send({ config_id: 'cfg-off', config: { log: { level: 'debug' } } });
    expect(ack).toMatchObject({ status: 'refused', error: { code: 'disabled' } });
    expect((ack.error as { message: string }).message).toContain('central.remote_config.enabled');
    expect(robot.daemon.config.log.level).toBe('info');
  });
});
