// Flat config: typescript-eslint's type-aware recommended rules for all TypeScript.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'bench/results/**', 'tests/artifacts/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      // No process.env outside the one place that validates config.
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read configuration through src/config.ts only.' }],
      // Swallowed failures must become states with a reason.
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    // Fastify's idiom: route handlers are async functions that return the payload.
    files: ['src/http/**/*.ts'],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    files: ['src/config.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    files: ['eslint.config.js'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Only the ARI adapter may touch ari-client.
    files: ['**/*.ts'],
    ignores: ['src/telephony/ari/**'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'ari-client', message: 'Use the TelephonyPort (src/telephony/port.ts).' }] }],
    },
  },
  {
    // Machines are pure: no telephony, database, HTTP or file system in them.
    files: ['machines/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [
        { group: ['ari-client', 'asterisk-manager', 'better-sqlite3', 'fastify', 'node:*', 'ws'], message: 'Machines are pure: effects are provided from src/composition.ts.' },
        { group: ['../src/**'], allowTypeImports: true, message: 'Machines may import types from src/, never code.' },
      ] }],
    },
  },
);
