import { describe, expect, it } from 'vitest';
import { publishCommand } from '../helpers/command-key.ts';
import { cleanupStack } from '../helpers/cleanups.ts';
import { skillIntent } from '../helpers/intents.ts';
import { waitFor } from '../helpers/wait.ts';
import { brokerAndCentral, centralDaemon, PREFIX, sendIntent } from './central-harness.ts';
import { running } from '../helpers/daemon.ts';
import { CentralLink } from '../../central-link/index.ts';

/**
 * A flood down the link is cut at central.rate_limits, each kind on its own: 1,000 intents in 30 s were all
 * accepted, and 2.4 kB of resend requests made 5 MB of resends. Past the rate each message is refused (PUBACK
 * 0x97, quota exceeded), counted in the link's health and metrics; what is within it runs.
 */
describe('rate limits on what central sends', () => {
  const cleanups = cleanupStack();

  it('takes intents up to the rate and refuses the rest, counted; resends likewise', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const started = await centralDaemon(broker.url, {}, { rate_limits: { intents_per_min: 5, resends_per_min: 2 } });
    cleanups.push(started.stop);
    const { daemon } = started;
    const intents = Array.from({ length: 20 }, () => skillIntent('stop', {}));
    for (const intent of intents) await sendIntent(central.client, intent);
    for (let i = 0; i < 6; i++)
      await publishCommand(
        central.client,
        `${PREFIX}/resend`,
        JSON.stringify({ journal_id: 'x', from_seq: 1, to_seq: 1 }),
      );
    const health = () =>
      daemon.status().components.central!.details as { rate_limited: { intents: number; resends: number } };
    await waitFor(() => health().rate_limited.intents === 15, 'the 15 intents past the rate refused');
    await waitFor(() => health().rate_limited.resends === 4, 'the 4 resends past the rate refused');
    await waitFor(() => central.acks().filter((a) => a.kind === 'intent').length === 5, 'the 5 taken acked');
    const acked = new Set(central.acks().map((a) => a.intent_id));
    expect(intents.filter((i) => acked.has(i.intent_id))).toHaveLength(5);
    const central_ = running(daemon, CentralLink)!;
    const limited = central_.metrics().find((m) => m.name === 'auraison_central_rate_limited_total')!;
    expect(limited.samples).toEqual([
      { labels: { kind: 'intents' }, value: 15 },
      { labels: { kind: 'configs' }, value: 0 },
      { labels: { kind: 'resends' }, value: 4 },
    ]);
  });

  it('takes configs up to the rate and refuses the rest, counted', async () => {
    const { broker, central } = await brokerAndCentral(cleanups);
    const started = await centralDaemon(broker.url, {}, { rate_limits: { configs_per_min: 2 } });
    cleanups.push(started.stop);
    const { daemon } = started;
    for (let i = 0; i < 6; i++) {
      const payload = JSON.stringify({ config_id: `cfg-${i}`, config: { log: { level: i % 2 ? 'debug' : 'info' } } });
      await publishCommand(central.client, `${PREFIX}/config`, payload);
    }
    const health = () => daemon.status().components.central!.details as { rate_limited: { configs: number } };
    await waitFor(() => health().rate_limited.configs === 4, 'the 4 configs past the rate refused');
    await waitFor(() => central.acks().filter((a) => a.kind === 'config').length === 2, 'the 2 taken acked');
    expect(
      central
        .acks()
        .filter((a) => a.kind === 'config')
        .map((a) => a.config_id)
        .sort(),
    ).toEqual(['cfg-0', 'cfg-1']);
    const central_ = running(daemon, CentralLink)!;
    const limited = central_.metrics().find((m) => m.name === 'auraison_central_rate_limited_total')!;
    expect(limited.samples).toContainEqual({ labels: { kind: 'configs' }, value: 4 });
  });
});
