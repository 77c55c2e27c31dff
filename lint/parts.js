// The product's parts and the imports between them: what the `parts/boundaries` lint rule checks and what
// `node lint/parts.js` reports. A part is a folder under daemon/ (bus, config, contract, ...), a file directly
// in daemon/, adapters/<x>, sim/<x>, central-link or central (the reference central). Tests, benches and bin/
// use parts but are not parts.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE_DIRS = ['daemon', 'adapters', 'sim', 'central-link', 'central', 'bench', 'bin'];

/** The repository-relative path, with forward slashes. */
export function repoPath(file) {
  return relative(ROOT, file).split(sep).join('/');
}

export function isTest(path) {
  return path.startsWith('test/') || /\.test\.[cm]?[jt]s$/.test(path) || path.includes('/test-helpers/');
}

/**
 * Who may import any module of another part, not only its index.ts: tests and benches (they measure or check
 * a module), and the component registry, which builds the components and loads each lazily from the module
 * that holds it, so a part's index.ts stays light for the code that imports it (no DuckDB, onnxruntime,
 * fastify or pi behind a helper).
 */
export function mayReachIn(path) {
  return isTest(path) || path.startsWith('bench/') || path.startsWith('daemon/components/');
}

/** The part a repository-relative path belongs to, or undefined outside the parts (test/, bench/, bin/). */
export function partOf(path) {
  const s = path.split('/');
  if (s[0] === 'daemon') return s.length === 2 ? path : `daemon/${s[1]}`;
  if ((s[0] === 'adapters' || s[0] === 'sim') && s.length > 2) return `${s[0]}/${s[1]}`;
  if (s[0] === 'central-link') return 'central-link';
  // The reference central: the coordinator's side, which uses the link's protocol; the link never uses it.
  if (s[0] === 'central') return 'central';
  return undefined;
}

const WORKSPACES = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).workspaces ?? [];

/**
 * The npm package a repository-relative path belongs to: a workspace's folder (central) or '' (the root package).
 * A package uses another by name (`auraison-edge/log`, as the root's package.json exports it), never by a path.
 */
export function packageOf(path) {
  return WORKSPACES.find((w) => path.startsWith(`${w}/`)) ?? '';
}

/** The core: daemon/ except its registry, which is where the core may load adapters, sim and central-link. */
export function isCore(part) {
  return part !== undefined && part.startsWith('daemon') && part !== 'daemon/components';
}

export function isOuter(part) {
  return part !== undefined && !part.startsWith('daemon');
}

/** Whether importing `target` from outside its part goes through the part's face. */
export function isFace(target) {
  const part = partOf(target);
  return part === target || target === `${part}/index.ts`;
}

const IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)['"](\.{1,2}\/[^'"]+)['"]/gm;
const TYPE_ONLY = /^\s*(?:import|export)\s+type\b/;

/** The relative imports of a source text: [{ spec, typeOnly, dynamic, line }]. */
export function importsOf(text) {
  const out = [];
  for (const m of text.matchAll(IMPORT)) {
    const start = text.lastIndexOf('\n', m.index) + 1;
    // The statement starts at the last `import`/`export` at or before this line's start.
    const stmtStart = Math.max(text.lastIndexOf('\nimport', m.index), text.lastIndexOf('\nexport', m.index)) + 1;
    const lineText = text.slice(start, text.indexOf('\n', m.index));
    if (/^\s*(\/\/|\*)/.test(lineText)) continue;
    const dynamic = m[0].includes('(');
    out.push({
      spec: m[1],
      typeOnly: !dynamic && TYPE_ONLY.test(text.slice(stmtStart)),
      dynamic,
      line: text.slice(0, m.index).split('\n').length,
    });
  }
  return out;
}

export function sourceFiles(dir = ROOT) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mts|js|mjs)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
    }
  };
  for (const d of SOURCE_DIRS) {
    try {
      walk(join(dir, d));
    } catch {
      // a folder this checkout does not have
    }
  }
  return out;
}

/** Every import from one part to another in the tree: [{ from, to, fromPart, toPart, typeOnly, line }]. */
export function crossPartImports(files = sourceFiles()) {
  const edges = [];
  for (const file of files) {
    const from = repoPath(file);
    for (const imp of importsOf(readFileSync(file, 'utf8'))) {
      const to = repoPath(resolve(dirname(file), imp.spec));
      const fromPart = partOf(from);
      const toPart = partOf(to);
      if (toPart === undefined || fromPart === toPart) continue;
      edges.push({ from, to, fromPart, toPart, ...imp });
    }
  }
  return edges;
}

/** The cycles of the part graph (one per strongly connected component, as its parts), from non-test files. */
export function partCycles(edges) {
  const graph = new Map();
  for (const e of edges) {
    if (e.fromPart === undefined || isTest(e.from)) continue;
    if (!graph.has(e.fromPart)) graph.set(e.fromPart, new Set());
    graph.get(e.fromPart).add(e.toPart);
  }
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const sccs = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1) sccs.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return sccs;
}

let cached;
/** The part cycles of the tree on disk, computed once per process (one lint run). */
export function treeCycles() {
  cached ??= partCycles(crossPartImports());
  return cached;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const edges = crossPartImports();
  const nonTest = edges.filter((e) => !isTest(e.from));
  const bypass = nonTest.filter((e) => !isFace(e.to) && !mayReachIn(e.from));
  const coreOut = nonTest.filter((e) => isCore(e.fromPart) && isOuter(e.toPart));
  console.log(`cross-part imports (non-test): ${nonTest.length}, past the index: ${bypass.length}`);
  console.log(`core importing adapters/sim/central-link outside the registry: ${coreOut.length}`);
  for (const e of coreOut) console.log(`  ${e.from}:${e.line} -> ${e.to}`);
  const cycles = partCycles(edges);
  console.log(`part cycles: ${cycles.length}`);
  for (const c of cycles) {
    console.log(`  ${c.join(' <-> ')}`);
    const inC = new Set(c);
    for (const e of nonTest.filter((e) => inC.has(e.fromPart) && inC.has(e.toPart))) {
      console.log(`    ${e.from}:${e.line} -> ${e.to}${e.typeOnly ? ' (type)' : ''}${e.dynamic ? ' (dynamic)' : ''}`);
    }
  }
  if (process.argv.includes('--bypass')) for (const e of bypass) console.log(`B ${e.from}:${e.line} -> ${e.to}`);
}
