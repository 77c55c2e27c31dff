import { loadCentralServe, loadCentralYaml } from '../components/index.ts';
import { parseCommandArgs } from './args.ts';
import { UsageError, type CommandIO } from './command.ts';

/**
 * `auraison-edge central serve --config central.yaml`: the reference central (central-link/central/serve.ts),
 * loaded only here, so the rest of the CLI starts without DuckDB and the AWS SDK.
 */
export async function centralServe(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, { config: { type: 'string' } });
  const file = values.config ?? io.env.AURAISON_CENTRAL_CONFIG;
  if (!file)
    throw new UsageError('central serve needs its config: --config central.yaml (or $AURAISON_CENTRAL_CONFIG)');
  const { loadCentralServeConfig } = await loadCentralYaml();
  const settings = loadCentralServeConfig(file, io.env);
  const { runCentralServe } = await loadCentralServe();
  return runCentralServe(settings, io);
}
