// Lint: typescript-eslint's recommended rules plus the type-aware ones that catch what a
// reviewer misses in this codebase (an unawaited promise, a promise where a callback is
// expected, awaiting a non-promise). Formatting is Prettier's job (eslint-config-prettier).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'coverage/', '.data/', 'test-artifacts/', 'bench/.run/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: {
      parserOptions: {
        // One project per target (server, client, page, service worker, tests): each file is checked in its own.
        project: [
          './tsconfig.build.json',
          './tsconfig.client.json',
          './tsconfig.public.json',
          './tsconfig.sw.json',
          './tsconfig.json',
        ],
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { attributes: false } }],
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      // Tests and the wire layer handle JSON of unknown shape; `any` is explicit there.
      '@typescript-eslint/no-explicit-any': 'off',
    },
  },
  {
    // The page's DOM listeners are async and catch their own errors (shown as a toast).
    files: ['public/**/*.ts'],
    rules: { '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }] },
  },
  {
    files: ['**/*.mjs', '**/*.js'],
    languageOptions: { globals: { ...globals.node } },
  },
  prettier,
);
