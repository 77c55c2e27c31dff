#!/usr/bin/env node
// Entry point of the `auraison-edge` CLI. The sources are TypeScript run through tsx's loader, so there is
// no build step between `npm ci` and a running daemon.
import { register } from 'tsx/esm/api';

// SIGHUP's default action ends the process, and loading the CLI takes seconds on a small machine before
// `run` can install its handler: a `systemctl reload` then would kill the daemon. The config is read after
// this anyway, so a SIGHUP before then has nothing to reload.
if (process.argv[2] === 'run') process.on('SIGHUP', () => undefined);

register();
const { main } = await import('../daemon/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
