import { type Command, parseCommandArgs } from '../../cli-kit/index.ts';
import { unreachableAdvice } from '../api-unreachable.ts';
import { OtherDaemonError, resolveClientTarget } from '../daemon-target.ts';

export const command: Command = {
  name: 'mcp',
  summary: "Serve the running daemon's MCP gateway on stdio, for a desktop agent (Claude Desktop, Cursor)",
  help: `Usage: auraison-edge mcp [--config FILE] [--url URL] [--token TOKEN]

Relays the Model Context Protocol between stdin/stdout and the running daemon's gateway (mcp in the config):
mcp_url in <data_dir>/run/api.json (the stop listener's /mcp, which takes the stop tool's calls at once), else
/mcp on its local API. A desktop agent runs this as its MCP server command. The tools, the resources and
every refusal are the daemon's: the tools it exposes (mcp.tools), the agent's policy, velocity gate,
approvals, quotas and stop latch. stdout carries only the protocol; problems go to stderr. See docs/mcp.md.

Options:
  --url URL       the API, whose /mcp it uses (default: mcp_url, else url, in <data_dir>/run/api.json, else
                  config api.host/api.port)
  --token TOKEN   bearer token (default: $AURAISON_EDGE_API_TOKEN, else config api.token)
  --config FILE   the daemon's config (default: $AURAISON_EDGE_CONFIG, else the embedded default)

A daemon that does not answer (not started yet, or stopped) is said once on stderr, with what to do, and each
request meanwhile is answered with an error naming it; the relay goes on, and serves once the daemon answers.

Exit codes: 0 the agent closed stdin (with or without a daemon answering), 1 no daemon to relay to (the
config has no API and no --url was given, or the daemon at its port is another data dir's), 2 bad usage.
`,
  async run(argv, io) {
    const { values } = parseCommandArgs(argv, {
      url: { type: 'string' },
      token: { type: 'string' },
      config: { type: 'string' },
    });
    let target, dataDir;
    try {
      ({ target, dataDir } = await resolveClientTarget(values, io));
    } catch (error) {
      if (!(error instanceof OtherDaemonError)) throw error;
      io.stderr(`auraison-edge mcp: ${error.message}\n`);
      return 1;
    }
    if (!target) {
      io.stderr(
        'auraison-edge mcp: no API to relay to: the config has api.enabled false or api.port 0 and no daemon wrote run/api.json; give --url\n',
      );
      return 1;
    }
    const { relayStdio } = await import('../../mcp/index.ts');
    await relayStdio({
      // The stop listener's /mcp where the daemon names it: the stop tool's call is taken there before the event loop.
      url: target.mcpUrl ? new URL(target.mcpUrl) : new URL('/mcp', target.url),
      token: target.token,
      warn: (text) => io.stderr(`auraison-edge mcp: ${text}\n`),
      unreachableAdvice: unreachableAdvice(target, dataDir),
    });
    return 0;
  },
};
