import { execFileSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IConnackPacket } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { deadPort } from '../helpers/closed-port.ts';
import { TEST_COMMAND_KEY } from '../helpers/command-key.ts';
import { runMain, tempDir } from '../helpers/cli.ts';
import { centralClient, startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { FLEET, PREFIX, ROBOT } from './central-harness.ts';

/** mosquitto's dynamic security plugin, where Debian's package puts it (under the machine's multiarch folder). */
const DYNAMIC_SECURITY = readdirSync('/usr/lib')
  .map((d) => join('/usr/lib', d, 'mosquitto_dynamic_security.so'))
  .find((p) => existsSync(p));

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const undo of cleanups.splice(0).reverse()) await undo();
});

/** A temporary folder for config, password and ACL files, removed after the test. */
function dir(): string {
  const d = tempDir('central-check-');
  cleanups.push(d.cleanup);
  return d.path;
}

/** A config naming the robot and its `central` section, central's key pinned (JSON is YAML). */
function config(folder: string, central: Record<string, unknown>, robot = ROBOT): string {
  const path = join(folder, `edge-${robot}.yaml`);
  writeFileSync(
    path,
    JSON.stringify({ robot: { id: robot, fleet: FLEET }, central: { command_keys: [TEST_COMMAND_KEY], ...central } }),
  );
  return path;
}

async function broker(extraConfig?: string) {
  const b = await startBroker(extraConfig === undefined ? {} : { extraConfig });
  cleanups.push(b.cleanup);
  return b;
}

interface Report {
  ok: boolean;
  url: string;
  client_id: string;
  connect: { ok: boolean; connack_ms?: number; error?: string; reason_code?: number; broker?: Record<string, unknown> };
  subscribe: { ok: boolean; topic: string; reason_code?: number; error?: string; skipped?: string };
  publish: { ok: boolean; topic: string; reason_code?: number; error?: string; skipped?: string };
  authority?: { ok: boolean };
}

describe('auraison-edge central check', () => {
  it('connects, subscribes to the intents topic, publishes once on the heartbeat topic, and leaves no session behind', async () => {
    const b = await broker();
    const central = await centralClient(b.url, [`${PREFIX}/heartbeat`]);
    cleanups.push(central.end);
    const file = config(dir(), { url: b.url });
    const r = await runMain(['central', 'check', '--config', file, '--json']);
    // An open broker: this login may publish as central, so the authority probe fails (broker-acl.test.ts).
    expect(r.code).toBe(1);
    const report = JSON.parse(r.stdout) as Report;
    expect(report).toMatchObject({
      ok: false,
      authority: { ok: false },
      url: b.url,
      subscribe: { ok: true, topic: `${PREFIX}/intents`, reason_code: 1 },
      publish: { ok: true, topic: `${PREFIX}/heartbeat` },
    });
    expect(report.connect.ok).toBe(true);
    expect(report.connect.connack_ms).toEqual(expect.any(Number));
    expect(report.connect.broker).toMatchObject({ receive_maximum: expect.any(Number) });
    // Its own client id, so a running daemon keeps its session.
    expect(report.client_id).toMatch(new RegExp(`^auraison-edge-${FLEET}-${ROBOT}-check-[0-9a-f]+$`));
    // Central got the check's message, not retained, and can tell it from a heartbeat.
    await waitFor(() => central.received.length > 0, 'the check message');
    expect(central.received[0]!.json).toMatchObject({
      schema: 'auraison.check/1',
      robot: ROBOT,
      fleet: FLEET,
      client_id: report.client_id,
    });
    expect(central.received[0]!.packet.retain).toBe(false);
    // No session kept: connecting again under the check's id finds none.
    const again = mqtt.connect(b.url, {
      protocolVersion: 5,
      clientId: report.client_id,
      clean: false,
      reconnectPeriod: 0,
    });
    cleanups.push(() => again.endAsync());
    const connack = await new Promise<IConnackPacket>((resolve, reject) => {
      again.once('connect', resolve);
      again.once('error', reject);
    });
    expect(connack.sessionPresent).toBe(false);

    // Human output; --url with no config: the default robot's topics.
    const human = await runMain(['central', 'check', '--url', b.url], { env: { AURAISON_EDGE_CONFIG: '' } });
    expect(human.code).toBe(1);
    expect(human.stdout).toMatch(new RegExp(`^FAIL ${b.url.replace(/\./g, '\\.')} as auraison-edge-default-`));
    expect(human.stdout).toMatch(/connect: CONNACK in [\d.]+ ms/);
    expect(human.stdout).toMatch(/subscribe auraison\/default\/[^/]+\/intents: granted \(QoS 1\)/);
    expect(human.stdout).toMatch(/publish auraison\/default\/[^/]+\/heartbeat: acknowledged/);
  });

  it("says when the broker's Receive Maximum holds the outbox under central.outbox.max_inflight", async () => {
    const b = await broker('max_inflight_messages 10');
    const folder = dir();
    const check = async (central: Record<string, unknown>) => {
      const r = await runMain([
        'central',
        'check',
        '--json',
        '--config',
        config(folder, { enabled: true, ...central }),
      ]);
      expect(r.code).toBe(1); // no ACL: the authority probe fails; the notes are what this test reads
      return JSON.parse(r.stdout) as Report & { notes: string[] };
    };
    // 10 less the 4 the outbox leaves to the link's other messages: room for the default 4.
    expect(await check({ url: b.url })).toMatchObject({ connect: { broker: { receive_maximum: 10 } }, notes: [] });
    expect((await check({ url: b.url, outbox: { max_inflight: 16 } })).notes).toEqual([
      'the broker takes 10 messages unacknowledged (Receive Maximum): the outbox keeps 6 batch(es) in flight, not central.outbox.max_inflight (16)',
    ]);
  });

  it('says a broker is not there (refused, DNS) or does not answer, and gives up within --timeout-s', async () => {
    const port = await deadPort();
    const refused = await runMain(['central', 'check', '--url', `mqtt://127.0.0.1:${port}`, '--timeout-s', '5']);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toMatch(/^FAIL /);
    expect(refused.stdout).toContain(
      `connect: failed: connection refused (ECONNREFUSED 127.0.0.1:${port}): is the broker running`,
    );
    expect(refused.stdout).toContain('subscribe auraison/default/');
    expect(refused.stdout).toContain(': skipped: not connected');
    const dns = await runMain([
      'central',
      'check',
      '--url',
      'mqtt://no-such-host.invalid:1883',
      '--timeout-s',
      '5',
      '--json',
    ]);
    expect(dns.code).toBe(1);
    expect((JSON.parse(dns.stdout) as Report).connect.error).toMatch(
      /^DNS lookup failed.* \((ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\): check the host name/,
    );
    // A listener that takes the connection and never answers: the check does not wait past its limit.
    const sockets: Socket[] = [];
    const silent: Server = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => resolve());
        }),
    );
    const { port: silentPort } = silent.address() as { port: number };
    const mute = await runMain(['central', 'check', '--url', `mqtt://127.0.0.1:${silentPort}`, '--timeout-s', '0.3']);
    expect(mute.code).toBe(1);
    expect(mute.stdout).toContain('connect: failed: no CONNACK within 0.3 s');
  });

  it('names central.username and central.password when the broker refuses them, passes with the right ones, and never prints a password', async () => {
    const folder = dir();
    const passwords = join(folder, 'passwd');
    execFileSync('/usr/bin/mosquitto_passwd', ['-b', '-c', passwords, 'robot', 'right-pass-4711']);
    const b = await broker(`allow_anonymous false\npassword_file ${passwords}`);
    const wrong = await runMain([
      'central',
      'check',
      '--config',
      config(folder, { url: b.url, username: 'robot', password: 'wrong-pass-0815' }),
    ]);
    expect(wrong.code).toBe(1);
    // mosquitto says Not authorized (0x87) where MQTT 5 has Bad User Name or Password (0x86): both name the keys.
    expect(wrong.stdout).toMatch(
      /connect: failed: the broker refused the connection: (Not authorized \(0x87\)|Bad User Name or Password \(0x86\)): check central\.username and central\.password/,
    );
    const json = await runMain([
      'central',
      'check',
      '--config',
      config(folder, { url: b.url, username: 'robot', password: 'wrong-pass-0815' }),
      '--json',
    ]);
    expect((JSON.parse(json.stdout) as Report).connect).toMatchObject({ ok: false, reason_code: expect.any(Number) });
    const right = await runMain([
      'central',
      'check',
      '--config',
      config(folder, { url: b.url, username: 'robot', password: 'right-pass-4711' }),
    ]);
    // Passes the login; with no ACL the authority probe still fails (broker-acl.test.ts).
    expect(right.code).toBe(1);
    expect(right.stdout).toMatch(/connect: CONNACK in/);
    // Credentials in the URL: the password is shown as ***.
    const inUrl = await runMain([
      'central',
      'check',
      '--url',
      `mqtt://robot:right-pass-4711@127.0.0.1:${b.port}`,
      '--json',
    ]);
    expect(JSON.parse(inUrl.stdout)).toMatchObject({ connect: { ok: true }, authority: { ok: false } });
    expect((JSON.parse(inUrl.stdout) as Report).url).toBe(`mqtt://robot:***@127.0.0.1:${b.port}`);
    for (const r of [wrong, json, right, inUrl]) {
      expect(r.stdout + r.stderr).not.toMatch(/right-pass-4711|wrong-pass-0815/);
    }
  });

  it("is not ok while the robot's file pins no key of central's, takes unsigned commands, or pins no key at all", async () => {
    const b = await broker();
    const folder = dir();
    const run = async (central: Record<string, unknown>) => {
      const r = await runMain(['central', 'check', '--config', config(folder, { url: b.url, ...central }), '--json']);
      return JSON.parse(r.stdout) as { ok: boolean; commands: { ok: boolean; keys: number; problem?: string } };
    };
    expect((await run({})).commands).toEqual({ ok: true, keys: 1, require_signed: true });
    const keyless = await run({ command_keys: [] });
    expect([keyless.ok, keyless.commands.ok]).toEqual([false, false]);
    expect(keyless.commands.problem).toMatch(
      /^no key of central's is pinned \(central\.command_keys is empty\): the daemon will refuse every command; on central run `auraison-edge central keygen/,
    );
    const open = await run({ require_signed_commands: false });
    expect(open.commands).toMatchObject({ ok: false, keys: 1 });
    expect(open.commands.problem).toMatch(/^central\.require_signed_commands is false: any client of the broker/);
    const wrong = await run({ command_keys: ['not a key'] });
    expect(wrong.commands.problem).toMatch(/^central\.command_keys\.0: /);
    const human = await runMain(['central', 'check', '--config', config(folder, { url: b.url, command_keys: [] })]);
    expect(human.stdout).toContain("commands: NOT ok: no key of central's is pinned");
    expect(human.code).toBe(1);
  });

  it("reports a subscription or a publish the broker's ACL refuses (0x87)", async () => {
    // mosquitto's acl_file never refuses a SUBSCRIBE (it only holds back what is delivered): its dynamic
    // security plugin does. Anonymous clients: tb3-2 may not subscribe to its intents, tb3-1 may not publish
    // its heartbeat; all else is allowed.
    const folder = dir();
    const dynsec = join(folder, 'dynamic-security.json');
    const deny = (acltype: string, topic: string) => ({ acltype, topic, priority: 0, allow: false });
    writeFileSync(
      dynsec,
      JSON.stringify({
        defaultACLAccess: { publishClientSend: true, publishClientReceive: true, subscribe: true, unsubscribe: true },
        clients: [],
        groups: [{ groupname: 'robots', roles: [{ rolename: 'robot' }] }],
        roles: [
          {
            rolename: 'robot',
            acls: [
              deny('subscribeLiteral', `auraison/${FLEET}/tb3-2/intents`),
              deny('publishClientSend', `${PREFIX}/heartbeat`),
            ],
          },
        ],
        anonymousGroup: 'robots',
      }),
    );
    if (!DYNAMIC_SECURITY)
      throw new Error("mosquitto's dynamic security plugin is not there: Debian's mosquitto package installs it");
    const b = await broker(`plugin ${DYNAMIC_SECURITY}\nplugin_opt_config_file ${dynsec}`);
    const noSubscribe = await runMain([
      'central',
      'check',
      '--config',
      config(folder, { url: b.url }, 'tb3-2'),
      '--json',
    ]);
    expect(noSubscribe.code).toBe(1);
    const refused = JSON.parse(noSubscribe.stdout) as Report;
    expect(refused).toMatchObject({ ok: false, subscribe: { ok: false, reason_code: 0x87 }, publish: { ok: true } });
    expect(refused.subscribe.error).toContain(
      "refused: Not authorized (0x87): the broker's ACL does not let this robot subscribe to its intents topic",
    );
    const noPublish = await runMain(['central', 'check', '--config', config(folder, { url: b.url })]);
    expect(noPublish.code).toBe(1);
    expect(noPublish.stdout).toMatch(/^FAIL /);
    expect(noPublish.stdout).toContain(`subscribe ${PREFIX}/intents: granted (QoS 1)`);
    expect(noPublish.stdout).toContain(
      `publish ${PREFIX}/heartbeat: failed: refused: Not authorized (0x87): the broker's ACL`,
    );
  });

  it('exits 2 on bad usage: no URL at all, a URL that is not MQTT, a bad --timeout-s, an unknown subcommand', async () => {
    const none = await runMain(['central', 'check'], { env: { AURAISON_EDGE_CONFIG: '' } });
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('no broker to check: give --url, or set central.url');
    const http = await runMain(['central', 'check', '--url', 'http://central.example.com']);
    expect(http.code).toBe(2);
    expect(http.stderr).toContain('--url: expected an mqtt://, mqtts://, ws:// or wss:// URL');
    const fromConfig = await runMain([
      'central',
      'check',
      '--config',
      config(dir(), { url: 'central.example.com:1883' }),
    ]);
    expect(fromConfig.code).toBe(2);
    expect(fromConfig.stderr).toContain('central.url: expected an mqtt://');
    expect((await runMain(['central', 'check', '--url', 'mqtt://127.0.0.1:1883', '--timeout-s', '0'])).code).toBe(2);
    expect((await runMain(['central', 'status'])).code).toBe(2);
    const help = await runMain(['central', 'check', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: auraison-edge central check \[--url URL\]/);
  });
});
