// The `parts/boundaries` rule: parts depend one way (no cycle between parts), use another part only through its
// index.ts (tests, benches and the component registry may reach a module: see mayReachIn), and the core loads
// adapters, sim and central-link only through the component registry (daemon/components), and no relative import
// crosses a package outside tests and benches (central/ is its own: it imports the root by name, auraison-edge/...).
// See lint/parts.js.
import { dirname, resolve } from 'node:path';
import { isCore, isFace, isOuter, isTest, mayReachIn, packageOf, partOf, repoPath, ROOT, treeCycles } from './parts.js';

const boundaries = {
  meta: {
    type: 'problem',
    docs: { description: 'parts depend one way, through their index.ts' },
    schema: [],
    messages: {
      face: "'{{spec}}' reaches into {{part}}: import it through {{part}}/index.ts (add what is missing there)",
      core: 'the core loads {{part}} only through the component registry (daemon/components), lazily',
      cycle: '{{from}} and {{to}} depend on each other (parts cycle: {{cycle}}): move the shared piece down',
      own: "'{{spec}}' is this part's own index.ts: import the module itself (the index loads the whole part)",
      package:
        "'{{spec}}' crosses from {{from}} into {{to}}, another npm package: import it by the package's name " +
        'as its package.json exports it (auraison-edge/protocol, auraison-edge/log, @auraison-edge/central/cli, ...)',
    },
  },
  create(context) {
    const file = context.filename;
    if (!file.startsWith(ROOT)) return {};
    const from = repoPath(file);
    const fromPart = partOf(from);
    const test = isTest(from);
    const check = (node, spec) => {
      if (typeof spec !== 'string' || !spec.startsWith('.')) return;
      const to = repoPath(resolve(dirname(file), spec));
      if (!test && !from.startsWith('bench/') && packageOf(to) !== packageOf(from)) {
        const name = (path) => (packageOf(path) === '' ? 'the root package' : `${packageOf(path)}/`);
        context.report({ node, messageId: 'package', data: { spec, from: name(from), to: name(to) } });
      }
      const toPart = partOf(to);
      if (toPart === undefined) return;
      if (toPart === fromPart) {
        if (!test && isFace(to) && to !== from) context.report({ node, messageId: 'own', data: { spec } });
        return;
      }
      if (!mayReachIn(from) && !isFace(to)) context.report({ node, messageId: 'face', data: { spec, part: toPart } });
      if (!test && isCore(fromPart) && isOuter(toPart))
        context.report({ node, messageId: 'core', data: { part: toPart } });
      if (!test && fromPart !== undefined) {
        const cycle = treeCycles().find((c) => c.includes(fromPart) && c.includes(toPart));
        if (cycle)
          context.report({ node, messageId: 'cycle', data: { from: fromPart, to: toPart, cycle: cycle.join(', ') } });
      }
    };
    const fromSource = (node) => node.source && check(node.source, node.source.value);
    return {
      ImportDeclaration: fromSource,
      ExportNamedDeclaration: fromSource,
      ExportAllDeclaration: fromSource,
      ImportExpression: (node) => node.source.type === 'Literal' && check(node.source, node.source.value),
    };
  },
};

export default { meta: { name: 'parts' }, rules: { boundaries } };
