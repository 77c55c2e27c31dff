import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GRANTS_SCHEMA, RESEND_SCHEMA } from '../../central-link/index.ts';
import { publishQos1 as puback } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { skillIntent } from '../helpers/intents.ts';
import { publishCommand, TEST_COMMAND_KEY } from '../helpers/command-key.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { centralDaemon, FLEET, PREFIX } from './central-harness.ts';
import { labBroker } from './lab-broker.ts';

const cleanups = cleanupStack();

/** A lab's broker as docs/central-link.md sets it up: a login per robot and one for central, `central acl`'s file. */
const aclBroker = (options: { acl?: boolean } = {}) => labBroker(cleanups, options);

const FORGER = 'tb3-2 forged this';

describe('the broker ACL of `central acl`, on a real mosquitto', () => {
  it('refuses every command and report tb3-2 sends as tb3-1 or as central; tb3-1 and central still work', async () => {
    const { broker, login } = await aclBroker();
    const central = await centralClient(
      broker.url,
      ['events', 'status', 'heartbeat', 'acks/#'].map((leaf) => `auraison/${FLEET}/+/${leaf}`),
      { ...login('central'), clientId: 'central' },
    );
    cleanups.push(central.end);
    const started = await centralDaemon(broker.url, {}, login('tb3-1'));
    cleanups.push(started.stop);
    // A second connection with tb3-1's login, on its command topics: what any tb3-1 client would be sent.
    const tb31 = await centralClient(
      broker.url,
      ['intents', 'config', 'grants', 'resend'].map((leaf) => `${PREFIX}/${leaf}`),
      { ...login('tb3-1'), clientId: 'tb3-1-listener' },
    );
    cleanups.push(tb31.end);
    const attacker = await centralClient(broker.url, [], { ...login('tb3-2'), clientId: 'tb3-2-attacker' });
    cleanups.push(attacker.end);
    // mosquitto's acl_file grants every subscription and checks each message as it would deliver it.
    await attacker.client.subscribeAsync([`${PREFIX}/#`, `auraison/${FLEET}/+/intents`, '#'], { qos: 1 });

    const grants = (type: string, extra: Record<string, unknown>) =>
      JSON.stringify({ schema: GRANTS_SCHEMA, type, ...extra, note: FORGER, ts: '1' });
    const attacks: [string, string][] = [
      ['intents', JSON.stringify({ ...skillIntent('stop', {}), note: FORGER })],
      ['config', JSON.stringify({ config_id: 'forged', config: { api: { enabled: false } }, note: FORGER })],
      [
        'grants',
        grants('grant', { mode: 'single', grant_id: 'g', object_key: 'k', put: { url: 'http://127.0.0.1:9/' } }),
      ],
      ['grants', grants('stored', { file_id: 'f', object_key: 'k', size: 1 })],
      ['grants', grants('pause', {})],
      ['resend', JSON.stringify({ schema: RESEND_SCHEMA, journal_id: 'j', from_seq: 1, to_seq: 1e6, note: FORGER })],
      ['events', JSON.stringify({ schema: 'auraison.events/1', robot: 'tb3-1', fleet: FLEET, note: FORGER })],
      ['heartbeat', JSON.stringify({ schema: 'auraison.heartbeat/1', robot: 'tb3-1', note: FORGER })],
      ['acks', JSON.stringify({ intent_id: 'x', status: 'accepted', note: FORGER })],
      ['uploads', JSON.stringify({ type: 'offer', robot: 'tb3-1', note: FORGER })],
    ];
    for (const [leaf, payload] of attacks)
      expect([leaf, await puback(attacker.client, `${PREFIX}/${leaf}`, payload)]).toEqual([leaf, 0x87]);
    const status = JSON.stringify({
      schema: 'auraison.status/1',
      state: 'online',
      status_url: 'http://evil/',
      note: FORGER,
    });
    expect(await puback(attacker.client, `${PREFIX}/status`, status, true)).toBe(0x87);
    // Its own topics still work: the ACL is per login, not a closed door.
    expect(await puback(attacker.client, `auraison/${FLEET}/tb3-2/heartbeat`, '{}')).toBe(0);

    // Central, with its own login, still commands tb3-1, and tb3-1's reports still reach central.
    const intent = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(intent));
    const ackOf = () =>
      central.received.find(
        (m) => m.topic === `${PREFIX}/acks` && (m.json as { intent_id?: string }).intent_id === intent.intent_id,
      );
    await waitFor(() => ackOf() !== undefined, "tb3-1's ack of central's intent");
    expect(ackOf()!.json).toMatchObject({ status: 'accepted' });
    await waitFor(() => central.received.some((m) => m.topic === `${PREFIX}/events`), "tb3-1's events at central");
    await waitFor(() => tb31.received.length === 1, "central's intent at tb3-1's listener");

    // Nothing forged went anywhere, and tb3-2 read none of it.
    expect(tb31.received.map((m) => m.text)).toEqual([JSON.stringify(intent)]);
    expect(central.received.filter((m) => m.text.includes(FORGER))).toEqual([]);
    expect(attacker.received.map((m) => m.topic)).toEqual([]);
    // No forged retained status waits for the next subscriber either.
    const late = await centralClient(broker.url, [`${PREFIX}/status`], { ...login('central'), clientId: 'late' });
    cleanups.push(late.end);
    await waitFor(() => late.received.length > 0, "tb3-1's retained status");
    expect(late.received.map((m) => (m.json as { pid?: number }).pid)).toEqual([process.pid]);
  });
});

describe('`central check` probes the broker with the robot own login', () => {
  /** tb3-2's config: its login, the broker, central's key pinned; JSON is YAML. */
  function tb32Config(url: string): string {
    const folder = tempDir('broker-acl-check-');
    cleanups.push(folder.cleanup);
    const file = join(folder.path, 'edge.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        robot: { id: 'tb3-2', fleet: FLEET },
        central: {
          url,
          username: 'tb3-2',
          password: 'tb3-2-pass',
          connect_timeout_s: 5,
          command_keys: [TEST_COMMAND_KEY],
        },
      }),
    );
    return file;
  }

  it('says ok with the ACL, and NOT ok naming each hole without it; it leaves nothing retained', async () => {
    for (const acl of [true, false]) {
      const { broker, login } = await aclBroker({ acl });
      // tb3-1 is online: its retained status is at the broker, as a running robot's is.
      const tb31 = await centralClient(broker.url, [], { ...login('tb3-1'), clientId: 'tb3-1' });
      cleanups.push(tb31.end);
      const status = JSON.stringify({ schema: 'auraison.status/1', robot: 'tb3-1', fleet: FLEET, state: 'online' });
      expect(await puback(tb31.client, `${PREFIX}/status`, status, true)).toBe(0);

      const json = await runCli(['central', 'check', '--config', tb32Config(broker.url), '--json']);
      expect(json.stdout, json.stderr).toMatch(/^\{/);
      const report = JSON.parse(json.stdout) as {
        ok: boolean;
        authority: {
          ok: boolean;
          probe_robot: string;
          publishes: { topic: string; refused: boolean }[];
          read: string[];
          holes: string[];
        };
        stop_login: { ok: boolean; login?: string; subscribe_qos?: number; holes: string[]; error?: string };
      };
      const human = await runCli(['central', 'check', '--config', tb32Config(broker.url)]);
      if (acl) {
        expect([json.code, report.ok, report.authority.holes], json.stdout + json.stderr).toEqual([0, true, []]);
        expect(report.authority.publishes.map((p) => p.refused)).toEqual([true, true, true, true, true, true]);
        expect(human.stdout).toMatch(/^ok /);
        expect(human.stdout).toContain("authority: another robot's topics refused to this login: 6 publishes (0x87)");
        expect(human.stdout).toContain("commands: central's key pinned (1), unsigned commands refused");
        // The stop connection's login reads the robot's intents, and may not publish there.
        expect(report.stop_login).toMatchObject({ ok: true, login: 'tb3-2/intents', subscribe_qos: 1, holes: [] });
        expect(human.stdout).toMatch(/stop login tb3-2\/intents as \S+\/stop: intents granted \(QoS 1\)/);
      } else {
        expect([json.code, report.ok, report.authority.ok], json.stdout + json.stderr).toEqual([1, false, false]);
        const probe = `auraison/${FLEET}/${report.authority.probe_robot}`;
        expect(report.authority.holes).toEqual([
          `it may publish another robot's intents as central does (${probe}/intents taken): any robot's login could command every robot`,
          `it may publish another robot's config as central does (${probe}/config taken): any robot's login could command every robot`,
          `it may publish another robot's grants as central does (${probe}/grants taken): any robot's login could command every robot`,
          `it may publish another robot's resend as central does (${probe}/resend taken): any robot's login could command every robot`,
          `it may publish another robot's events (${probe}/events taken): central would take them as that robot's`,
          `it may publish another robot's status (${probe}/status taken): central would take them as that robot's`,
          expect.stringMatching(/^it may read other robots' topics: it was sent /),
        ]);
        expect(report.authority.read).toContain(`${PREFIX}/status`);
        expect(human.stdout).toMatch(/^FAIL /);
        expect(human.stdout).toContain("authority: NOT ok: set up the broker's ACL: `auraison-edge central acl`");
        expect(report.stop_login.ok).toBe(false);
        expect(report.stop_login.holes).toEqual([
          expect.stringMatching(new RegExp(`^the stop login may publish on auraison/${FLEET}/tb3-2/intents: run`)),
        ]);
        expect(human.stdout).toContain(
          `stop login: HOLE: the stop login may publish on auraison/${FLEET}/tb3-2/intents`,
        );
      }
      // Nothing retained but tb3-1's own status.
      const look = await centralClient(broker.url, [`auraison/${FLEET}/#`], { ...login('central'), clientId: 'look' });
      cleanups.push(look.end);
      await waitFor(() => look.received.length > 0, 'the retained status');
      // A round trip: the broker sends the retained messages before this PUBACK.
      expect(await puback(look.client, `auraison/${FLEET}/tb3-1/intents`, '{}')).toBe(0);
      expect(look.received.filter((m) => m.packet.retain).map((m) => m.topic)).toEqual([`${PREFIX}/status`]);
    }
  });

  it('is NOT ok where the broker has no stop login (set up before it), naming what to add; ok with motion.stop.central_connection false', async () => {
    const { broker } = await labBroker(cleanups, { stopLogins: false });
    const refused = await runCli(['central', 'check', '--config', tb32Config(broker.url), '--json']);
    const report = JSON.parse(refused.stdout) as { ok: boolean; authority: { ok: boolean }; stop_login: unknown };
    expect([refused.code, report.ok, report.authority.ok]).toEqual([1, false, true]);
    expect(report.stop_login).toMatchObject({
      ok: false,
      login: 'tb3-2/intents',
      error: expect.stringMatching(
        /^refused: (Not authorized \(0x87\)|Bad User Name or Password \(0x86\)): add the stop login to the broker \(mosquitto_passwd FILE <robot id>\/intents/,
      ),
    });
    const human = await runCli(['central', 'check', '--config', tb32Config(broker.url)]);
    expect(human.stdout).toMatch(/^FAIL /);
    expect(human.stdout).toMatch(/stop login tb3-2\/intents as \S+: failed: refused: /);
    const off = tb32Config(broker.url);
    const text = JSON.parse(readFileSync(off, 'utf8')) as { motion?: { stop?: Record<string, unknown> } };
    text.motion = { ...text.motion, stop: { ...text.motion?.stop, central_connection: false } };
    writeFileSync(off, JSON.stringify(text));
    const skipped = await runCli(['central', 'check', '--config', off]);
    expect(skipped.code, skipped.stdout).toBe(0);
    expect(skipped.stdout).toContain('stop login: not used (motion.stop.central_connection is false)');
  });
});
