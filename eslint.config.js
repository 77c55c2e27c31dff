// ESLint: typescript-eslint's recommended rules, typed where a rule catches real defects (promises nobody
// awaits), the parts' boundaries (lint/parts-rule.js) and lines of at most 120 characters. Prettier formats.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import parts from './lint/parts-rule.js';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'dist/', 'coverage/', 'bench/out/', 'test/fixtures/', 'test/.tmp/', '.auraison-edge/'],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  {
    languageOptions: { globals: { ...nodeGlobals() } },
    plugins: { parts },
    rules: {
      'parts/boundaries': 'error',
      'max-len': ['error', { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true, ignoreRegExpLiterals: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // The status page's scripts run in the browser.
    files: ['daemon/api/page/*.js'],
    languageOptions: { globals: { window: 'readonly', document: 'readonly', fetch: 'readonly', EventSource: 'readonly' } },
  },
);

function nodeGlobals() {
  const names = ['process', 'console', 'Buffer', 'URL', 'URLSearchParams', 'setTimeout', 'clearTimeout', 'setInterval',
    'clearInterval', 'setImmediate', 'clearImmediate', 'queueMicrotask', 'structuredClone', 'AbortController',
    'AbortSignal', 'TextEncoder', 'TextDecoder', 'performance', 'fetch', 'Response', 'Request', 'Headers',
    'globalThis', 'WebAssembly', 'SharedArrayBuffer', 'Atomics', 'BigInt', 'crypto', 'Blob', 'FormData', 'Event',
    'EventTarget', 'MessageChannel', 'MessagePort', 'BroadcastChannel', 'WebSocket', 'DOMException'];
  return Object.fromEntries(names.map((n) => [n, 'readonly']));
}
