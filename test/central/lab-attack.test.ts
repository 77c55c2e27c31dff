import { describe, expect, it } from 'vitest';
import { GRANTS_SCHEMA, RESEND_SCHEMA } from '../../central-link/index.ts';
import { startCentralServe } from '../../central/serve.ts';
import { PORTS } from '../../daemon/contract/index.ts';
import { silentLogger } from '../../daemon/log.ts';
import { publishQos1 as puback, serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { countingListener } from '../helpers/counting-listener.ts';
import { skillIntent } from '../helpers/intents.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import { centralDaemon, FLEET, PREFIX, ROBOT } from './central-harness.ts';
import { CENTRAL_USER, labBroker } from './lab-broker.ts';

const cleanups = cleanupStack();
const FORGER = 'tb3-2 forged this';
const FLOOD = 1000;

/** The robot's link as GET /status shows it. */
interface LinkStatus {
  state: string;
  reason?: string;
  details: { refused: { total: number; signature: Record<string, number> }; sync?: { paused: unknown } };
}

/**
 * Issue 33's scenario end to end: a lab's broker as `central acl` sets it up (a login per robot, central's own
 * listener and logins, the ACL), `central serve` as central, tb3-1's daemon, and an attacker holding tb3-2's
 * login. Every attack the issue found is refused: at the broker (PUBACK 0x87) with the ACL; and, on a broker
 * whose ACL a lab forgot, by the robot's signature check, each command counted and seen in GET /status, the
 * `status` CLI, and central's fleet API from the robot's heartbeat.
 */
describe('who may command a robot, in a lab set up as the docs say', () => {
  it.each([
    ['with the ACL: the broker refuses every attack, nothing reaches tb3-1', true],
    ['without the ACL: tb3-1 refuses every command that reaches it, counted, seen in status and at central', false],
  ])('%s', async (_what, acl) => {
    const { broker, centralUrl, login, brokerLog } = await labBroker(cleanups, { acl, listeners: true });
    const dir = tempDir('lab-attack-');
    cleanups.push(dir.cleanup);
    const settings = serveSettings({ broker, dir: dir.path });
    settings.mqtt = { ...settings.mqtt, url: centralUrl, ...login(CENTRAL_USER) };
    settings.http = { ...settings.http, enabled: true, host: '127.0.0.1', port: 0 };
    const serve = await startCentralServe(settings, { log: silentLogger() });
    cleanups.push(() => serve.close());
    const { daemon, stop } = await centralDaemon(
      broker.url,
      { api: { enabled: true, port: 0 } },
      { ...login(ROBOT), sync: { enabled: true } },
    );
    cleanups.push(stop);
    await waitFor(() => serve.view.robots().some((r) => r.robot === ROBOT && r.online), 'tb3-1 online at central');
    const storage = await countingListener(cleanups);
    const attacker = await centralClient(broker.url, [], { ...login('tb3-2'), clientId: 'tb3-2-attacker' });
    cleanups.push(attacker.end);
    const configBefore = structuredClone(daemon.config);
    const seqBefore = daemon.journal.lastSeq;

    const grants = (type: string, extra: Record<string, unknown>) =>
      JSON.stringify({ schema: GRANTS_SCHEMA, type, ...extra, note: FORGER, ts: '1' });
    const commands: [string, string][] = [
      ['intents', JSON.stringify({ ...skillIntent('stop', {}), note: FORGER })],
      ['config', JSON.stringify({ config_id: 'forged', config: { api: { enabled: false }, log: { level: 'debug' } } })],
      ['grants', grants('pause', { reason: FORGER })],
      ['resend', JSON.stringify({ schema: RESEND_SCHEMA, journal_id: 'j', from_seq: 1, to_seq: 1_000_000 })],
      [
        'grants',
        grants('grant', {
          mode: 'single',
          file_id: `bag:${'0'.repeat(64)}`,
          grant_id: 'g',
          object_key: 'k',
          expires_at: Date.now() + 600_000,
          put: { url: `${storage.url}/fleet/k` },
        }),
      ],
      [
        'grants',
        grants('stored', { file_id: `bag:${'0'.repeat(64)}`, object_key: 'k', sha256: '0'.repeat(64), size: 1 }),
      ],
    ];
    const codes: number[] = [];
    for (const [leaf, payload] of commands) codes.push(await puback(attacker.client, `${PREFIX}/${leaf}`, payload));
    // The 1,000-intent flood: all of them refused, none run.
    const flood = await Promise.all(
      Array.from({ length: FLOOD }, () =>
        puback(attacker.client, `${PREFIX}/intents`, JSON.stringify(skillIntent('stop', {}))),
      ),
    );
    // With the ACL the broker answers 0x87 (not authorized); without, it takes them (its PUBACK is its own: the
    // robot's refusal goes to the broker, not back to the publisher).
    const code = acl ? 0x87 : 0;
    expect(codes).toEqual(commands.map(() => code));
    expect(flood.filter((c) => c !== code)).toEqual([]);
    if (acl) {
      // Reports as tb3-1: its events and a retained status pointing the fleet page elsewhere.
      const status = { schema: 'auraison.status/1', robot: ROBOT, fleet: FLEET, state: 'online' };
      const reports: [string, string, boolean][] = [
        ['events', JSON.stringify({ schema: 'auraison.events/1', robot: ROBOT, fleet: FLEET, note: FORGER }), false],
        ['status', JSON.stringify({ ...status, status_url: 'http://evil.example/', note: FORGER }), true],
        [
          'heartbeat',
          JSON.stringify({ schema: 'auraison.heartbeat/1', robot: ROBOT, fleet: FLEET, note: FORGER }),
          false,
        ],
      ];
      for (const [leaf, payload, retain] of reports)
        expect([leaf, await puback(attacker.client, `${PREFIX}/${leaf}`, payload, retain)]).toEqual([leaf, 0x87]);
      // The robot counts none of this: the broker's log is where a lab sees it, each denial under the login that
      // tried (its client id on the robots' listener is its username, whatever it asked for).
      const denied = (leaf: string) =>
        brokerLog()
          .split('\n')
          .filter((l) => l.includes(`Denied PUBLISH from tb3-2 (`) && l.includes(`'${PREFIX}/${leaf}'`)).length;
      await waitFor(() => denied('heartbeat') === 1, "the broker's log of the denied heartbeat");
      expect(
        ['intents', 'config', 'grants', 'resend', 'events', 'status', 'heartbeat'].map((leaf) => [leaf, denied(leaf)]),
      ).toEqual([
        ['intents', 1 + FLOOD],
        ['config', 1],
        ['grants', 3],
        ['resend', 1],
        ['events', 1],
        ['status', 1],
        ['heartbeat', 1],
      ]);
    }
    // Besides, only central's probe of the ACL is denied (a robot id no robot has): not tb3-1's or central's work.
    const others = brokerLog()
      .split('\n')
      .filter((l) => l.includes('Denied PUBLISH from ') && !l.includes('Denied PUBLISH from tb3-2 ('))
      .map((l) => /'([^']+)'/.exec(l)?.[1]?.replace(/\/central\.acl-probe-[0-9a-f]{6}\//, '/PROBE/'));
    const probe = ['events', 'status', 'heartbeat', 'uploads'].map((leaf) => `auraison/${FLEET}/PROBE/${leaf}`);
    expect(others).toEqual(acl ? probe : []);

    const apiUrl = daemon.ports.get(PORTS.api)!.url!;
    const link = async () =>
      ((await (await fetch(`${apiUrl}/status`)).json()) as { components: { central: LinkStatus } }).components.central;
    const reaching = commands.length + FLOOD;
    if (!acl) await waitFor(async () => (await link()).details.refused.total === reaching, 'every command refused');
    const seen = await link();
    // Nothing acted: the config is the file's, sync runs, no run was made, nothing was PUT, nothing resent.
    expect(daemon.config).toEqual(configBefore);
    expect(seen.details.sync?.paused).toBeNull();
    expect(storage.hits).toEqual([]);
    expect(daemon.journal.lastSeq).toBe(seqBefore);
    expect(seen.details.refused.total).toBe(acl ? 0 : reaching);
    if (acl) expect(seen.state).toBe('running');
    else {
      expect(seen.details.refused.signature).toMatchObject({ unsigned: reaching });
      expect(seen.state).toBe('degraded');
      expect(seen.reason).toMatch(
        new RegExp(`^${reaching} command\\(s\\) from the link refused \\(unsigned ${reaching}\\)`),
      );
      const cli = await runCli(['status', '--url', apiUrl]);
      expect(cli.stdout).toMatch(
        new RegExp(`central +degraded at \\S+: ${reaching} command\\(s\\) from the link refused`),
      );
      // Central sees it on the fleet page's API, from tb3-1's next heartbeat.
      const robot = async () =>
        (
          (await (await fetch(`${serve.httpUrl}/api/robots`)).json()) as {
            robots: { robot: string; refused?: { total: number } }[];
          }
        ).robots.find((r) => r.robot === ROBOT);
      await waitFor(async () => (await robot())?.refused?.total === reaching, "tb3-1's refusals at central");
    }
    // Central's view of tb3-1 is tb3-1's own: no forged status, no forged event.
    const view = serve.view.robots().find((r) => r.robot === ROBOT)!;
    expect(view.status_url).not.toContain('evil');
    // And it says whether the broker proves that: without the ACL tb3-2 could have reported as tb3-1.
    expect(view.sender).toBe(acl ? 'proven' : 'unproven');
    const events = await serve.view.recentEvents(1000);
    expect(events.filter((e) => JSON.stringify(e).includes(FORGER))).toEqual([]);
  });
});
