import pino from 'pino';
import { stringify } from 'yaml';
import type { AgentComponent } from '../../daemon/agent/agent-component.ts';
import { parseConfigText } from '../../daemon/config/load.ts';
import { newId } from '../../daemon/contract/ids.ts';
import type { Intent } from '../../daemon/contract/schemas.ts';
import { Daemon } from '../../daemon/daemon.ts';
import { tempDir } from '../helpers/cli.ts';

/**
 * A real daemon with the sim at `speed` and the agent, in a temp dir (no API, no Foxglove), with the sim's
 * charging dock. `cleanups` gets what undoes it, in the order to run it reversed.
 */
export async function simAgentDaemon(speed: number, cleanups: (() => Promise<void> | void)[]) {
  const dir = tempDir('sim-agent-');
  cleanups.push(dir.cleanup);
  const config = parseConfigText(stringify({ data_dir: './data', sim: { enabled: true, speed }, api: { enabled: false }, foxglove: { enabled: false } }), 'edge.yaml', {});
  const daemon = new Daemon({ config, log: pino({ level: 'silent' }), cwd: dir.path });
  await daemon.start();
  cleanups.push(() => daemon.stop());
  const agent = daemon.components.get('agent') as AgentComponent;
  const dock = (daemon.components.get('sim') as unknown as { namedPoses: Record<string, { x: number; y: number }> }).namedPoses.charging_dock!;
  return { daemon, agent, dock };
}

/** A skill intent from a test. */
export function skillIntent(type: string, params: Record<string, unknown>): Intent {
  return { intent_id: newId(), type, params, policy_ctx: { actor: 'test', source: 'internal' }, targets: [] };
}
