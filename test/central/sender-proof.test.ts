import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { startCentralServe } from '../../central/serve.ts';
import { sharedChromium } from '../api/chromium.ts';
import { publishQos1 as puback, serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { runCli, tempDir } from '../helpers/cli.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { waitFor, waitForValue } from '../helpers/wait.ts';
import { FLEET, PREFIX, ROBOT } from './central-harness.ts';
import { CENTRAL_USER, labBroker } from './lab-broker.ts';

const cleanups = cleanupStack();
const chromium = sharedChromium();
afterAll(() => chromium.close());

interface Senders {
  proven: boolean;
  checked_at?: string;
  detail: string;
}

/**
 * Central takes a report's robot from its topic: true only when the broker lets no other login publish there.
 * `central serve` probes its broker for that with its own login, and says what it found wherever a lab looks at
 * the robots: GET /api/robots, `central robots`, the fleet page and its log.
 */
describe("central serve says whether the broker proves who sent each robot's reports", () => {
  it.each([
    ["with central acl's file: proven", true],
    ['without it: every robot unproven, said in the API, the CLI, the page and the log', false],
  ])('%s', async (_what, acl) => {
    const { broker, centralUrl, login } = await labBroker(cleanups, { acl, listeners: true });
    const dir = tempDir('sender-proof-');
    cleanups.push(dir.cleanup);
    const settings = serveSettings({ broker, dir: dir.path });
    settings.mqtt = { ...settings.mqtt, url: centralUrl, ...login(CENTRAL_USER) };
    settings.http = { ...settings.http, enabled: true, host: '127.0.0.1', port: 0 };
    const logged: { level: number; msg: string; detail?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => void logged.push(JSON.parse(line)) });
    const serve = await startCentralServe(settings, { log });
    cleanups.push(() => serve.close());
    // tb3-1 with its own login: its retained status, as its daemon's link publishes it.
    const tb31 = await centralClient(broker.url, [], { ...login(ROBOT), clientId: ROBOT });
    cleanups.push(tb31.end);
    const status = { schema: 'auraison.status/1', robot: ROBOT, fleet: FLEET, state: 'online' };
    expect(await puback(tb31.client, `${PREFIX}/status`, JSON.stringify(status), true)).toBe(0);

    const api = async () =>
      (await (await fetch(`${serve.httpUrl}/api/robots`)).json()) as {
        robots: { robot: string; sender?: string }[];
        senders: Senders;
      };
    const answer = await waitForValue(async () => {
      const a = await api();
      return a.robots.length > 0 && a.senders.checked_at !== undefined && a;
    }, 'tb3-1 at central, and the probe answered');
    // The probe's own publishes, taken by an open broker, come back to central: no robot of the fleet.
    expect(answer.robots.map((r) => [r.robot, r.sender])).toEqual([[ROBOT, acl ? 'proven' : 'unproven']]);
    expect(serve.garbage.count).toBe(0);
    expect(answer.senders.proven).toBe(acl);
    expect(answer.senders.detail).toMatch(
      acl
        ? /^the broker refused to let central's login publish on the events, status, heartbeat, uploads topics of a robot id no robot has \(0x87\)/
        : /^the broker took central's login's publishes on another robot's events, status, heartbeat, uploads .*: any login may publish as any robot.*`auraison-edge central acl`/,
    );

    const cli = await runCli(['central', 'robots', '--url', serve.httpUrl!]);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(new RegExp(`^${FLEET}\\s+${ROBOT}\\s+online`, 'm'));
    expect(cli.stdout).toContain(
      acl
        ? "reports' senders: proven by the broker's ACL (checked "
        : `reports' senders: UNPROVEN for every robot above, a report may not be from the robot it names: ${answer.senders.detail}\n`,
    );
    const json = JSON.parse((await runCli(['central', 'robots', '--url', serve.httpUrl!, '--json'])).stdout) as {
      robots: { sender: string }[];
      senders: Senders;
    };
    expect([json.robots[0]!.sender, json.senders.proven]).toEqual([acl ? 'proven' : 'unproven', acl]);

    const said = logged.filter((l) => /reports/.test(l.msg)).map((l) => [l.level, l.msg, l.detail]);
    expect(said).toEqual([
      acl
        ? [30, "central serve: the broker's ACL proves who sent each robot's reports", answer.senders.detail]
        : [40, "central serve: robots' reports are of an unproven sender", answer.senders.detail],
    ]);

    const context = await chromium.context();
    cleanups.push(() => context.close());
    const page = await context.newPage();
    await page.goto(`${serve.httpUrl}/?refresh=0.3`);
    await expect
      .poll(() => page.locator('#senders').textContent())
      .toMatch(acl ? /^reports' senders proven/ : /UNPROVEN/);
    const robot = page.locator(`#robots tr[data-robot="${ROBOT}"] td`).nth(1);
    expect(await robot.textContent()).toBe(acl ? ROBOT : `${ROBOT} unproven sender`);

    // The probe left nothing at the broker: a late subscriber gets tb3-1's status alone.
    const late = await centralClient(centralUrl, [`auraison/${FLEET}/#`], { ...login(CENTRAL_USER), clientId: 'late' });
    cleanups.push(late.end);
    await waitFor(() => late.received.length > 0, "tb3-1's retained status");
    expect(await puback(late.client, `${PREFIX}/intents`, '{}')).toBe(0);
    expect(late.received.filter((m) => m.packet.retain).map((m) => m.topic)).toEqual([`${PREFIX}/status`]);
  });
});
