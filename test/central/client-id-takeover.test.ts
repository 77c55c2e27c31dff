import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readStatusFile, startStatusFile } from '../../daemon/status/index.ts';
import { runCli } from '../helpers/cli.ts';
import mqtt from 'mqtt';
import { cleanupStack } from '../helpers/cleanups.ts';
import { publishCommand } from '../helpers/command-key.ts';
import { skillIntent } from '../helpers/intents.ts';
import { centralClient } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';
import type { Daemon } from '../../daemon/daemon.ts';
import { centralConfig, centralDaemon, FLEET, PREFIX, ROBOT } from './central-harness.ts';
import { labBroker } from './lab-broker.ts';

/** The client id the daemon's link connects with (central-link/link-settings.ts's default). */
const ROBOT_CLIENT_ID = `auraison-edge-${FLEET}-${ROBOT}`;

const cleanups = cleanupStack();

const details = (daemon: Daemon) => daemon.status().components.central!.details as { connects: number };

/**
 * One connection with tb3-2's login and tb3-1's client id: resolves once the broker answered its CONNACK (and
 * with it, on a broker that lets it, knocked tb3-1 off), then it leaves.
 */
async function connectAs(url: string, login: { username: string; password: string }): Promise<number> {
  const client = mqtt.connect(url, { protocolVersion: 5, clientId: ROBOT_CLIENT_ID, reconnectPeriod: 0, ...login });
  const code = await new Promise<number>((resolve) => {
    client.once('connect', (connack) => resolve(connack.reasonCode ?? 0));
    client.once('error', (error) => resolve((error as { code?: number }).code ?? -1));
  });
  await client.endAsync(true);
  return code;
}

describe("another login with a robot's client id", () => {
  it('knocks the robot off a broker that allows it, again and again, and the robot says so in status', async () => {
    const { broker, login } = await labBroker(cleanups, { acl: true });
    const { daemon, stop } = await centralDaemon(broker.url, {}, login(ROBOT));
    cleanups.push(stop);
    for (let i = 1; i <= 3; i++) {
      const before = details(daemon).connects;
      expect(await connectAs(broker.url, login('tb3-2'))).toBe(0);
      await waitFor(() => details(daemon).connects > before, `tb3-1 back after knock ${i}`);
    }
    const central = daemon.status().components.central!;
    expect(central.state).toBe('degraded');
    expect(central.reason).toMatch(
      /^the broker dropped this robot's connection 3 times in 10 min, each soon after taking it: another client with this client id \(auraison-edge-lab-tb3-1\) connects/,
    );
  });

  it("cannot take it on the broker `central acl` sets up: the robot stays on, central's commands reach it", async () => {
    const { broker, centralUrl, login } = await labBroker(cleanups, { listeners: true });
    const { daemon, stop } = await centralDaemon(broker.url, {}, login(ROBOT));
    cleanups.push(stop);
    const central = await centralClient(centralUrl, [`${PREFIX}/acks`], { ...login('central'), clientId: 'central' });
    cleanups.push(central.end);
    // The broker makes tb3-2's client id its username: it connects, as tb3-2, and tb3-1 is left alone.
    for (let i = 0; i < 3; i++) expect(await connectAs(broker.url, login('tb3-2'))).toBe(0);
    // A robot's login does not get into central's listener at all, with any client id.
    expect(await connectAs(centralUrl, login('tb3-2'))).toBeGreaterThanOrEqual(0x80);
    const intent = skillIntent('stop', {});
    await publishCommand(central.client, `${PREFIX}/intents`, JSON.stringify(intent));
    await waitFor(
      () => central.received.some((m) => (m.json as { intent_id?: string }).intent_id === intent.intent_id),
      "tb3-1's ack of central's intent",
    );
    expect(details(daemon).connects).toBe(1);
    expect(daemon.status().components.central!.state).toBe('running');
  });

  it("central check does not connect beside this config's connected daemon, unless told to", async () => {
    const { broker, login } = await labBroker(cleanups, { acl: true });
    const { daemon, dir, stop } = await centralDaemon(broker.url, {}, login(ROBOT));
    cleanups.push(stop);
    // As `auraison-edge run` does: the status file the CLI finds the daemon by.
    const statusFile = startStatusFile(daemon);
    cleanups.push(() => statusFile.close('stopped'));
    // The robot's own config file, as an operator on the robot would pass it.
    const file = join(dir, 'edge.yaml');
    writeFileSync(
      file,
      JSON.stringify({
        data_dir: join(dir, 'data'),
        robot: { id: ROBOT, fleet: FLEET },
        central: centralConfig(broker.url, login(ROBOT)),
      }),
    );
    await waitFor(
      () =>
        (readStatusFile(join(dir, 'data'))?.components.central?.details as { connected?: boolean })?.connected === true,
      'the status file to show the link connected',
    );
    const refused = await runCli(['central', 'check', '--config', file]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /the daemon of this config \(pid \d+\) is connected to central; on a broker set up by/,
    );
    expect(refused.stdout).toBe('');
    // On a broker that does not tie client ids the check may run beside it, and the daemon keeps its connection.
    const beside = await runCli(['central', 'check', '--config', file, '--while-running', '--json']);
    expect(beside.code, beside.stdout + beside.stderr).toBe(0);
    expect(details(daemon).connects).toBe(1);
  });
});
