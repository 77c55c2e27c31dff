#!/usr/bin/env node
// Entry point of the `auraison-edge` CLI. It runs the compiled JavaScript in dist/, which `npm ci` builds
// (`npm run build` after editing the sources); the daemon's stack traces point at the .ts sources through source maps.

import { existsSync } from 'node:fs';

// package.json's engines: npm only warns at install, and an older Node.js would fail later, somewhere, or not at all
// where nothing tests it. Said first, with the way to a Node.js 24 that needs no root.
if (Number(process.versions.node.split('.')[0]) < 22) {
  const fetchNode = new URL('../.ci/node', import.meta.url).pathname;
  const quoted = (arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`);
  const again = [new URL(import.meta.url).pathname, ...process.argv.slice(2)].map(quoted).join(' ');
  process.stderr.write(
    [
      `auraison-edge: Node.js ${process.versions.node} is too old: it needs Node.js 22 or newer (CI runs 24).`,
      'Get Node.js 24 from the npm registry, without root, and install with it (native addons are built per release):',
      ...(existsSync(fetchNode) ? [`  export PATH="$(bash ${fetchNode} 24.21.0)/bin:$PATH" && npm ci`] : []),
      `or run one command with it: npx -y node@24 ${again}`,
      '',
    ].join('\n'),
  );
  process.exit(2);
}

// SIGHUP's default action ends the process: a `systemctl reload` that comes while the CLI is still loading,
// before `run` installs its handler, must not kill the daemon. The config is read after this anyway, so a
// SIGHUP before then has nothing to reload.
if (process.argv[2] === 'run') process.on('SIGHUP', () => undefined);
// Source maps for the commands that run a while and log stacks (the daemon, the sim, central, the MCP server): Node
// reads every loaded module's map when they are on, a tenth of a client command's start (`status`, `stop`), whose
// errors print their message alone.
if (['run', 'sim', 'central', 'mcp'].includes(process.argv[2])) process.setSourceMapsEnabled(true);

const entry = new URL('../dist/daemon/cli/main.js', import.meta.url);
let main;
try {
  ({ main } = await import(entry.href));
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(entry.pathname)) throw error;
  process.stderr.write(
    `auraison-edge: ${entry.pathname} is missing: run \`npm run build\` in ${new URL('..', import.meta.url).pathname}\n`,
  );
  process.exit(2);
}
const code = await main(process.argv.slice(2));
process.exitCode = code;
if (process.argv[2] === 'run') {
  // The daemon's stop is bounded: what still holds the event loop a second after it (a native thread, a
  // socket a peer keeps open) must not keep a stopped daemon alive past the documented time.
  setTimeout(() => {
    const pending = process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap' && r !== 'Timeout');
    process.stderr.write(`auraison-edge: exiting with ${pending.join(', ') || 'work'} still open after the stop\n`);
    process.exit(code);
  }, 1000).unref();
}
