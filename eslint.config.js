// ESLint: typescript-eslint's recommended rules, the typed rules that catch promises nobody awaits, the parts'
// boundaries (lint/parts-rule.js) and lines of at most 120 characters; Prettier formats. The typed rules need the
// whole program's types: 29 s of the lint's 43 s on the CI machine; LINT_UNTYPED=1 leaves them out (12 s).
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';
import tests from './lint/fixed-wait-rule.js';
import parts from './lint/parts-rule.js';

export default tseslint.config(
  {
    ignores: [
      'node_modules/',
      'dist/',
      'scratch/',
      'coverage/',
      'bench/out/',
      'test/fixtures/',
      'test/.tmp/',
      '.auraison-edge/',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    rules: {
      // A type-only import is erased, so the module behind it is not loaded (the CLI's start time).
      '@typescript-eslint/consistent-type-imports': [
        'error',
        { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false },
      ],
      '@typescript-eslint/no-import-type-side-effects': 'error',
    },
  },
  ...(!process.env.LINT_UNTYPED
    ? [
        {
          files: ['**/*.ts'],
          languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
          rules: {
            '@typescript-eslint/no-floating-promises': 'error',
            '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: false }],
          },
        },
      ]
    : []),
  {
    // Node's own globals, as an ES module sees them (no require, module or __dirname).
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    languageOptions: { globals: globals.nodeBuiltin },
    plugins: { parts, tests },
    rules: {
      'parts/boundaries': 'error',
      // A test waits on state, never on the clock (test files only; see lint/fixed-wait-rule.js).
      'tests/no-fixed-wait': 'error',
      // `let x;` read in a callback before the one assignment that follows (a component wired to itself) stays let.
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
      // Control characters are what the sanitizers and their tests look for.
      'no-control-regex': 'off',
      // A user-facing error names what was wrong and what to do; the cause it replaces is often noise to them.
      'preserve-caught-error': 'off',
      'max-len': [
        'error',
        { code: 120, ignoreStrings: true, ignoreTemplateLiterals: true, ignoreUrls: true, ignoreRegExpLiterals: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
    },
  },
  {
    // The status page's scripts run in the browser.
    files: ['daemon/api/page/*.js', 'central/page/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
