#!/usr/bin/env node
// Builds dist/ from the TypeScript sources: `npm run build` (`npm ci` runs it through `prepare`).
//
// One esbuild pass, bundled with code splitting: the CLI and each of its commands, and every module a worker
// thread runs, are entry points that keep their paths under dist/ (daemon/cli/main.ts -> dist/daemon/cli/
// main.js); the code they share goes into chunks loaded on first use. Packages stay in node_modules, except
// typebox and yaml: their 700 and 80 small modules took most of a second to resolve at every start of the CLI;
// and the workspace's own packages (auraison-edge/..., @auraison-edge/central), bundled from this checkout's
// sources through tsconfig.json's paths, central's chunks loaded only by `auraison-edge central ...`.
//
// Nothing is built when no file the last build read has changed since it began (dist/.build-inputs.json, see
// upToDate): `npm start` and the tests build first. `--force` builds anyway.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT = join(ROOT, 'dist');
const BUNDLED_PACKAGES = /^(typebox|yaml|auraison-edge|@auraison-edge\/central)(\/|$)/;

/** Modules that spawnTsWorker runs in worker threads (see workerEntry in daemon/util/spawn-worker.ts). */
const WORKERS = [
  'daemon/system1/control/loop-worker.ts',
  'daemon/system1/control/inference-worker.ts',
  // A loop with isolation: process: its process's entry, and the thread that relays the stop line to it.
  'daemon/system1/control/loop-process-child.ts',
  'daemon/system1/control/halt-relay-worker.ts',
  'daemon/system1/serving-worker.ts',
  'adapters/zenoh/bulk-lane-worker.ts',
  // The stop listener's thread, and the module it loads there for the Zenoh graph's zero command.
  'daemon/api/halt-listener-worker.ts',
  'adapters/zenoh/halt-zero.ts',
  // Central's stop connection's thread (motion.stop.central_connection).
  'central-link/halt-connection-worker.ts',
  // Not a thread: the process the daemon's lakehouse queries run in (daemon/lakehouse/query-process.ts).
  'daemon/lakehouse/query-child.ts',
  // Not a thread: the process a camera's frames are decoded in (daemon/system1/vision/frame-decoder.ts).
  'daemon/system1/vision/frame-decoder-child.ts',
];

const commands = readdirSync(join(ROOT, 'daemon/cli/commands'))
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
  .map((f) => `daemon/cli/commands/${f}`);

const STAMP = join(OUT, '.build-inputs.json');
/**
 * Read by the build without being an input esbuild reports: this script (its entry and worker lists), the paths in
 * tsconfig.json, the versions of the bundled packages (npm rewrites its hidden lockfile at every install, while the
 * files it unpacks all carry one fixed mtime).
 */
const ALSO_READ = ['bin/build.js', 'tsconfig.json', 'package.json', 'node_modules/.package-lock.json'];
const entryPoints = ['daemon/cli/main.ts', ...commands, ...WORKERS];

const started = performance.now();
if (!process.argv.includes('--force') && upToDate()) {
  console.log(`dist/ is up to date (checked in ${Math.round(performance.now() - started)} ms)`);
  process.exit(0);
}
const startedAt = Date.now();
const { outputFiles, metafile } = await build({
  absWorkingDir: ROOT,
  entryPoints,
  outdir: OUT,
  outbase: '.',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  // Names stay as written: error classes are told apart by name in places, and stack traces read better.
  keepNames: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  write: false,
  metafile: true,
  // yaml is CommonJS: its require() of Node's modules needs a require in the ES module it is bundled into.
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
  plugins: [
    {
      name: 'packages-external',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          BUNDLED_PACKAGES.test(args.path) ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
// Files are replaced one by one through a rename, and only when they changed: a daemon or a test running from
// dist/ meanwhile reads a whole old file or a whole new one, never half of one.
const written = new Set();
let changed = 0;
const INDEX = join(OUT, 'daemon/cli/commands.json');
for (const { path, contents } of outputFiles) writeChanged(path, contents);
// before the index is read from dist/: a command whose source is gone must not stay in it
const kept = (path) => written.has(path) || path === INDEX || path === STAMP || path.endsWith('.tmp');
for (const path of listFiles(OUT)) if (!kept(path)) rmSync(path);
writeChanged(INDEX, await commandIndex());
writeStamp();

/**
 * Whether dist/ holds what a build would write now: the last build's stamp is there with the same entry points,
 * every file it wrote is there, and no file it read has changed (or gone) since that build began. An edit during
 * a build is newer than its start, so the next build runs.
 */
function upToDate() {
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(STAMP, 'utf8'));
  } catch {
    return false; // no build yet, or one from before the stamp
  }
  if (JSON.stringify(stamp.entryPoints) !== JSON.stringify(entryPoints)) return false;
  if (!stamp.outputs.every((path) => existsSync(join(ROOT, path)))) return false;
  return stamp.inputs.every((path) => {
    try {
      return statSync(join(ROOT, path)).mtimeMs < stamp.startedAt;
    } catch {
      return false; // gone since: a build now would not read it
    }
  });
}

/** What upToDate compares with: the entry points, every file the build read, and every file it wrote. */
function writeStamp() {
  const inputs = [...Object.keys(metafile.inputs), ...ALSO_READ.filter((path) => existsSync(join(ROOT, path)))];
  const outputs = [...written].map((path) => path.slice(ROOT.length));
  // Not counted as a change: it is rewritten at every build.
  writeFileSync(`${STAMP}.${process.pid}.tmp`, `${JSON.stringify({ startedAt, entryPoints, inputs, outputs })}\n`);
  renameSync(`${STAMP}.${process.pid}.tmp`, STAMP);
}

function writeChanged(path, contents) {
  written.add(path);
  if (sameBytes(path, contents)) return;
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.${process.pid}.tmp`, contents);
  renameSync(`${path}.${process.pid}.tmp`, path);
  changed += 1;
}

/**
 * Every command's name and summary, read from the commands just built: the top-level help lists them from
 * dist/daemon/cli/commands.json without loading every command (see COMMAND_INDEX in daemon/cli/main.ts).
 */
async function commandIndex() {
  const { loadCommands } = await import(pathToFileURL(join(OUT, 'daemon/cli/main.js')).href);
  const index = [...(await loadCommands()).values()].map(({ name, summary }) => ({ name, summary }));
  return Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
}

function sameBytes(path, contents) {
  try {
    return Buffer.compare(readFileSync(path), contents) === 0;
  } catch {
    return false; // not there yet
  }
}

function listFiles(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? listFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

console.log(`dist/ built in ${Math.round(performance.now() - started)} ms (${changed} files changed)`);
