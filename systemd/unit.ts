import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const TEMPLATE = join(dirname(fileURLToPath(import.meta.url)), 'auraison-edge.service.in');
export const BIN = join(dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'auraison-edge.js');

export interface UnitOptions {
  /** Absolute path of node. */
  node: string;
  /** Absolute path of bin/auraison-edge.js. */
  bin: string;
  /** Absolute path of the YAML config. */
  config: string;
  /** The service's working directory: a relative data_dir lives under it. */
  workdir: string;
  /** A user unit (systemctl --user): no User=, wanted by default.target. */
  user: boolean;
  /** System units: the account the daemon runs as. */
  runAs?: string;
}

/** Fills in the unit template. Paths with spaces are quoted as systemd expects. */
export function renderUnit(options: UnitOptions): string {
  const { node, bin, config, workdir, user, runAs } = options;
  for (const [name, path] of Object.entries({ node, bin, config, workdir })) {
    if (!path.startsWith('/')) throw new Error(`${name} must be an absolute path, got ${path}`);
  }
  const quote = (p: string) => (/\s/.test(p) ? `"${p}"` : p);
  const userLines = user || !runAs ? '' : `User=${runAs}\nGroup=${runAs}`;
  const template = readFileSync(TEMPLATE, 'utf8').replace(/^(#.*\n)+/, '# Written by `auraison-edge install-service` (see its --help).\n');
  return template
    .replace('@NODE@', quote(node))
    .replace('@BIN@', quote(bin))
    .replace('@CONFIG@', quote(config))
    .replace('@WORKDIR@', quote(workdir))
    .replace('@USER_LINES@\n', userLines ? `${userLines}\n` : '')
    .replace('@WANTED_BY@', user ? 'default.target' : 'multi-user.target');
}
