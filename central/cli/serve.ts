import { readFileSync } from 'node:fs';
import { type CommandIO, parseCommandArgs, UsageError } from 'auraison-edge/cli-kit';

/**
 * `auraison-edge central serve --config central.yaml [--token-file FILE]`: the reference central
 * (central/serve.ts), loaded only here, so the rest of the CLI starts without DuckDB and the AWS
 * SDK. The token file's first line is the API token, over http.token: a file, not a flag, keeps it out of `ps`.
 */
export async function centralServe(argv: string[], io: CommandIO): Promise<number> {
  const { values } = parseCommandArgs(argv, {
    config: { type: 'string' },
    'token-file': { type: 'string' },
    'command-key': { type: 'string' },
  });
  const file = values.config ?? io.env.AURAISON_CENTRAL_CONFIG;
  if (!file)
    throw new UsageError('central serve needs its config: --config central.yaml (or $AURAISON_CENTRAL_CONFIG)');
  const { loadCentralServeConfig } = await import('../config.ts');
  const settings = loadCentralServeConfig(file, io.env);
  const tokenFile = values['token-file'];
  if (tokenFile !== undefined) settings.http.token = readToken(tokenFile);
  // The signing key's file, over mqtt.command_key: `central keygen --out FILE` makes it.
  if (values['command-key'] !== undefined) settings.mqtt.command_key = values['command-key'];
  const { runCentralServe } = await import('../serve.ts');
  return runCentralServe(settings, io);
}

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--token-file: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  const token = text.split(/\r?\n/)[0]!.trim();
  if (token === '') throw new UsageError(`--token-file: ${file} is empty: write the API token on its first line`);
  return token;
}
