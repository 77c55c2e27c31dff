// The `tests/no-fixed-wait` rule: a test waits on what the code exposes (waitFor on a counter, an event, a status
// field), never a fixed time, which is too short on a loaded machine and proves nothing when a check that "nothing
// happened" passes because nothing had its chance yet. In test files (under test/, or *.test.ts) it refuses:
// - a promise settled by a timer (`new Promise((r) => setTimeout(r, ms))`, and helpers built on one);
// - node:timers/promises' setTimeout and scheduler.wait, and the daemon's own sleep (daemon/util/sleep.ts);
// - a browser page's waitForTimeout.
// Where time itself is what a test checks (a timeout against a fake clock, a double that answers late on purpose), the
// line says so: `// eslint-disable-next-line tests/no-fixed-wait -- <why time is under test here>`. A disable without
// its reason is refused too.
import { dirname, resolve } from 'node:path';
import { repoPath } from './parts.js';

const RULE = 'tests/no-fixed-wait';

/** Test code: what runs under vitest or beside it (peers' drivers, doubles, helpers). */
export function isTestFile(path) {
  return path.startsWith('test/') || path.endsWith('.test.ts');
}

const isTimerCall = (node) =>
  node.type === 'CallExpression' &&
  ((node.callee.type === 'Identifier' && node.callee.name === 'setTimeout') ||
    (node.callee.type === 'MemberExpression' &&
      node.callee.object.type === 'Identifier' &&
      node.callee.object.name === 'globalThis' &&
      node.callee.property.type === 'Identifier' &&
      node.callee.property.name === 'setTimeout'));

/** Calls `visit` on `node` and every node below it. */
function walk(sourceCode, node, visit) {
  if (!node || typeof node.type !== 'string') return;
  visit(node);
  for (const key of sourceCode.visitorKeys[node.type] ?? []) {
    const child = node[key];
    if (Array.isArray(child)) for (const c of child) walk(sourceCode, c, visit);
    else walk(sourceCode, child, visit);
  }
}

const isTimersPromises = (source) => source === 'timers/promises' || source === 'node:timers/promises';
const DAEMON_SLEEP = new Set(['daemon/util/index.ts', 'daemon/util/sleep.ts']);

const noFixedWait = {
  meta: {
    type: 'problem',
    docs: { description: 'a test waits on state (waitFor), never on the clock' },
    schema: [],
    messages: {
      timerPromise:
        'a promise settled by a timer waits a fixed time: wait on what the code exposes (waitFor / waitForValue in ' +
        'test/helpers/wait.ts on a counter, an event, a status field); a check that nothing happened first waits on ' +
        'a counter proving the thing had its chance',
      import:
        "'{{name}}' from {{source}} waits a fixed time: wait on what the code exposes (waitFor in test/helpers/wait.ts)",
      page: "a page's waitForTimeout waits a fixed time: wait for what the page shows (waitForFunction, a selector)",
      reason: `a disable of ${RULE} says why time is under test there: \`-- <reason>\``,
    },
  },
  create(context) {
    const file = context.filename;
    if (!isTestFile(repoPath(file))) return {};
    const sourceCode = context.sourceCode;
    return {
      NewExpression(node) {
        if (node.callee.type !== 'Identifier' || node.callee.name !== 'Promise') return;
        const executor = node.arguments[0];
        if (!executor || (executor.type !== 'ArrowFunctionExpression' && executor.type !== 'FunctionExpression'))
          return;
        const resolve = executor.params[0]?.type === 'Identifier' ? executor.params[0].name : undefined;
        if (!resolve) return;
        // A timer that settles the promise (`setTimeout(resolve, ms)`, `setTimeout(() => resolve(x), ms)`) is a
        // fixed wait; one that rejects is a deadline, and one the executor clears ends early on an event.
        const timers = [];
        let cleared = false;
        walk(sourceCode, executor.body, (n) => {
          if (isTimerCall(n)) timers.push(n);
          if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === 'clearTimeout')
            cleared = true;
        });
        const settles = (timer) => {
          const callback = timer.arguments[0];
          if (!callback) return false;
          if (callback.type === 'Identifier') return callback.name === resolve;
          let calls = false;
          walk(sourceCode, callback, (n) => {
            if (n.type === 'CallExpression' && n.callee.type === 'Identifier' && n.callee.name === resolve)
              calls = true;
          });
          return calls;
        };
        if (!cleared && timers.some(settles)) context.report({ node, messageId: 'timerPromise' });
      },
      ImportDeclaration(node) {
        const source = node.source.value;
        if (typeof source !== 'string') return;
        for (const s of node.specifiers) {
          if (s.type !== 'ImportSpecifier') continue;
          const name = s.imported.type === 'Identifier' ? s.imported.name : s.imported.value;
          const refused =
            (isTimersPromises(source) && (name === 'setTimeout' || name === 'scheduler')) ||
            (name === 'sleep' && source.startsWith('.') && DAEMON_SLEEP.has(repoPath(resolve(dirname(file), source))));
          if (refused) context.report({ node: s, messageId: 'import', data: { name, source } });
        }
      },
      'CallExpression > MemberExpression.callee[property.name="waitForTimeout"]'(node) {
        context.report({ node, messageId: 'page' });
      },
      Program() {
        for (const comment of sourceCode.getAllComments()) {
          const text = comment.value.trim();
          if (/^eslint-disable/.test(text) && text.includes(RULE) && !/\s--\s*\S/.test(text))
            context.report({ loc: comment.loc, messageId: 'reason' });
        }
      },
    };
  },
};

export default { rules: { 'no-fixed-wait': noFixedWait } };
