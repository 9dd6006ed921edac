import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        Buffer: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The core is a library: it never prints and never imports the CLI framework.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-console': 'error',
      'no-restricted-imports': ['error', { patterns: [{ group: ['@oclif/*'], message: 'src/core never imports oclif' }] }],
    },
  },
  {
    // Only src/core/ssh talks SSH.
    files: ['src/**/*.ts'],
    ignores: ['src/core/ssh/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'ssh2', message: 'only src/core/ssh imports ssh2' }], patterns: [{ group: ['@oclif/*'], message: 'src/core never imports oclif' }] },
      ],
    },
  },
  {
    files: ['src/commands/**/*.ts', 'src/cli/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { paths: [{ name: 'ssh2', message: 'only src/core/ssh imports ssh2' }] }] },
  },
);
