import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

/** The parts of package.json the check reads. */
export interface PackageJson {
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  /** Optional peers are loaded where installed (the central package, beside the root on central's host). */
  peerDependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

export interface DependencyCheckOptions {
  /** The modules the product runs first, relative to root: the CLI's main and each command (bin/build.js's entries). */
  entries: string[];
  /** Dependencies nothing imports that the product still needs at run time, each with why. */
  loadedByOthers?: Record<string, string>;
  /** Package name prefixes released together, each declared at one version (`@aws-sdk/`). */
  releasedTogether?: string[];
}

export interface DependencyReport {
  /** The run-time modules, relative to root: the entries and what they import, and the worker modules they start. */
  modules: string[];
  /** Each package the run-time modules import, with the first module that does. */
  packages: Map<string, string>;
  problems: string[];
}

/**
 * What the project's run-time code imports beside what package.json declares. Run-time code is what the entries reach
 * through relative imports and the worker modules they start (`workerEntry('adapters/...')`), so a test helper kept
 * beside the sources (a fixture that imports vitest) is not counted. A package counts once anything names it: an
 * import or export (types too: a type names the package's declarations), `import()`, `require()`, `createRequire(...)`
 * and its `.resolve()`.
 */
export function checkDependencies(root: string, pkg: PackageJson, options: DependencyCheckOptions): DependencyReport {
  const { entries, loadedByOthers = {}, releasedTogether = [] } = options;
  const modules = new Set<string>();
  const packages = new Map<string, string>();
  const pending = entries.map((e) => resolve(root, e));
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    const name = relative(root, file);
    if (modules.has(name)) continue;
    modules.add(name);
    for (const { specifier, worker } of specifiers(file)) {
      if (worker) pending.push(...existing([resolve(root, specifier)]));
      else if (specifier.startsWith('.')) pending.push(...existing([resolve(dirname(file), specifier)]));
      else {
        const found = packageName(specifier);
        if (found !== undefined && !packages.has(found)) packages.set(found, name);
      }
    }
  }

  const runtime = { ...pkg.dependencies, ...pkg.optionalDependencies, ...pkg.peerDependencies };
  const problems: string[] = [];
  for (const [name, where] of packages) {
    if (name in runtime) continue;
    const place = pkg.devDependencies?.[name] !== undefined ? 'a devDependency' : 'not declared';
    problems.push(
      `${where} imports ${name}, which is ${place}: npm ci --omit=dev (and a user's install) would lack it; ` +
        'move it to dependencies',
    );
  }
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    if (packages.has(name) || loadedByOthers[name] !== undefined) continue;
    problems.push(
      `${name} is a dependency that no run-time module imports: move it to devDependencies if tests use it, or ` +
        'drop it (a dependency something else loads goes in the check\'s "loaded by others", with why)',
    );
  }
  for (const name of Object.keys(loadedByOthers))
    if (!(name in runtime)) problems.push(`${name} is listed as loaded by others but is no dependency: unlist it`);
  for (const prefix of releasedTogether) {
    const versions = Object.entries(runtime).filter(([name]) => name.startsWith(prefix));
    if (new Set(versions.map(([, v]) => v)).size > 1)
      problems.push(
        `the ${prefix} packages are released together but declared at different versions (` +
          `${versions.map(([n, v]) => `${n} ${v}`).join(', ')}): declare them at one`,
      );
  }
  return { modules: [...modules].sort(), packages, problems };
}

/** The file a relative specifier names, as Node and tsx resolve the sources' imports (`./x.ts`, `./dir`). */
function existing(candidates: string[]): string[] {
  for (const path of candidates) {
    for (const file of [path, `${path}.ts`, path.replace(/\.js$/, '.ts'), join(path, 'index.ts')])
      if (existsSync(file) && statSync(file).isFile()) return [file];
  }
  return [];
}

/** The package a bare specifier names (`@scope/name/sub` -> `@scope/name`), or undefined for Node's own modules. */
function packageName(specifier: string): string | undefined {
  if (specifier.startsWith('node:') || specifier.startsWith('/')) return undefined;
  const parts = specifier.split('/');
  if (builtinModules.includes(parts[0]!)) return undefined;
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Loads TypeScript's scanner does not see: createRequire(...)('x') and .resolve('x'), require.resolve('x'). */
const REQUIRE_LIKE = /(?:\bcreateRequire\([^)]*\)(?:\.resolve)?|\brequire\.resolve)\(\s*['"]([^'"]+)['"]/g;
/** The worker modules a file starts, by the one function that names them (daemon/util/spawn-worker.ts). */
const WORKER = /\bworkerEntry\(\s*['"]([^'"]+)['"]/g;

/** Every module specifier a file names, and the worker modules it starts. */
function specifiers(file: string): { specifier: string; worker: boolean }[] {
  const text = readFileSync(file, 'utf8');
  // The scanner TypeScript runs before a parse: imports, exports, import() and require(), type-only ones too.
  const { importedFiles } = ts.preProcessFile(text, true, true);
  return [
    ...importedFiles.map((f) => ({ specifier: f.fileName, worker: false })),
    ...[...text.matchAll(REQUIRE_LIKE)].map((m) => ({ specifier: m[1]!, worker: false })),
    ...[...text.matchAll(WORKER)].map((m) => ({ specifier: m[1]!, worker: true })),
  ];
}

/** The CLI's entry modules as bin/build.js builds them: its main and every command's file. */
export function cliEntries(root: string): string[] {
  const commands = join('daemon', 'cli', 'commands');
  return [
    join('daemon', 'cli', 'main.ts'),
    ...readdirSync(join(root, commands))
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
      .map((f) => join(commands, f)),
  ];
}
