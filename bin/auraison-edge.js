#!/usr/bin/env node
// Entry point of the `auraison-edge` CLI. The sources are TypeScript run through tsx's loader, so there is
// no build step between `npm ci` and a running daemon.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../daemon/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
