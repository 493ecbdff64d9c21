// Lint with type information (typescript-eslint's recommendedTypeChecked) over
// the TypeScript sources and tests. No stylistic rules: formatting is prettier's.
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  { ignores: ['build/', 'dist/', 'web/dist/', 'node_modules/', 'test/fixtures/'] },
  {
    files: ['src/**/*.ts', 'test/**/*.ts'],
    extends: [tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // `_`-prefixed parameters are deliberately unused (interface-shaped stubs, callbacks).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_' }],
      // Shapes and colours (number arrays) print as "2,3,4" in messages on purpose.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true, allowArray: true }],
      // Passing a caught `unknown` on to reject() is rethrowing it, as `throw e` does.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Off: the public API is async by contract (a bad input rejects, never throws), with or without an await inside.
      '@typescript-eslint/require-await': 'off',
      // Off: kernel tables (Kernels) are records of plain functions declared with method syntax; none uses `this`.
      '@typescript-eslint/unbound-method': 'off',
      // Off: it flags `{}` (an `unknown` narrowed by `!== undefined`), i.e. JSON values that messages print on purpose.
      '@typescript-eslint/no-base-to-string': 'off',
    },
  },
  {
    files: ['test/**/*.ts'],
    rules: {
      // Off in tests: they read CLI output and configs through JSON.parse's `any` (and corrupt configs on purpose);
      // the assertions on those values are the check.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
    },
  },
);
