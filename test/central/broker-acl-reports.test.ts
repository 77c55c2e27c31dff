import { describe, expect, it } from 'vitest';
import { startCentralServe } from '../../central/serve.ts';
import { silentLogger } from '../../daemon/log.ts';
import { eventsPayload, publishQos1, robotClient, serveSettings } from '../central-serve/fixtures.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { tempDir } from '../helpers/cli.ts';
import { startBroker } from '../helpers/mosquitto.ts';
import { waitFor } from '../helpers/wait.ts';

const cleanups = cleanupStack();

/**
 * Central takes a report's robot from its topic, which the broker's ACL proves; a payload that names another
 * robot (or fleet) than its topic is refused and counted, whatever the broker let through.
 */
describe("central serve refuses a robot's report whose payload names another robot than its topic", () => {
  it('refuses and counts a status and a heartbeat naming tb3-2 on tb3-1 topics, and takes tb3-1 own', async () => {
    const broker = await startBroker();
    cleanups.push(broker.cleanup);
    const dir = tempDir('broker-acl-reports-');
    cleanups.push(dir.cleanup);
    const serve = await startCentralServe(serveSettings({ broker, dir: dir.path }), { log: silentLogger() });
    cleanups.push(() => serve.close());
    await waitFor(() => serve.intake.connected, 'central serve to connect');
    const attacker = await robotClient(broker, 'tb3-2-attacker');
    cleanups.push(() => attacker.endAsync());

    const at = 'auraison/lab/tb3-1';
    const forged = { fleet: 'lab', robot: 'tb3-2', state: 'online', status_url: 'http://evil.example/' };
    await publishQos1(attacker, `${at}/status`, JSON.stringify({ schema: 'auraison.status/1', ...forged }));
    await publishQos1(attacker, `${at}/heartbeat`, JSON.stringify({ schema: 'auraison.heartbeat/1', ...forged }));
    const otherFleet = { schema: 'auraison.status/1', fleet: 'other', robot: 'tb3-1', state: 'online' };
    await publishQos1(attacker, `${at}/status`, JSON.stringify(otherFleet));
    await publishQos1(attacker, `${at}/events`, eventsPayload('tb3-2', 'j1', 1, 5));
    await waitFor(() => serve.garbage.count === 4, 'the four forged reports refused');
    expect(serve.view.robots()).toEqual([]);

    const genuine = { schema: 'auraison.status/1', fleet: 'lab', robot: 'tb3-1', state: 'online' };
    await publishQos1(attacker, `${at}/status`, JSON.stringify({ ...genuine, status_url: 'http://127.0.0.1:7400/' }));
    await waitFor(() => serve.view.robots().length === 1, "tb3-1's own status taken");
    expect(serve.view.robots()[0]).toMatchObject({
      robot: 'tb3-1',
      online: true,
      status_url: 'http://127.0.0.1:7400/',
    });
    expect(serve.garbage.count).toBe(4);
    expect(serve.intake.counts.refused).toBe(4);
  });
});
