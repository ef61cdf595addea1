// @ts-check
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import eslint from '@eslint/js';
import boundaries from 'eslint-plugin-boundaries';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

/**
 * The layers of docs/architecture.md, lowest first: a file in src/ imports only from its own layer
 * or lower ones (checked by `boundaries/dependencies` below). '.' is the files directly in src/.
 */
const LAYERS = [
  ['common', 'config', 'observability'],
  ['database', 'auth'],
  ['operations', 'drivers', 'idempotency', 'audit', 'gates', 'locks', 'freezes'],
  ['deployments'],
  ['health', 'cli', '.'],
];
const unplaced = readdirSync(join(import.meta.dirname, 'src'), { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && !LAYERS.flat().includes(entry.name))
  .map((entry) => `src/${entry.name}/`);
if (unplaced.length > 0)
  throw new Error(`In no layer of eslint.config.mjs: ${unplaced.join(', ')}`);
const layer = (index) => ({ element: { type: `layer ${index + 1}` } });

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'coverage/**',
      'eslint.config.mjs',
      'jest.config.js',
      'src/cli/api-schema.ts',
    ],
  },
  eslint.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  prettier,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      eqeqeq: ['error', 'always'],
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // One path to the database: only repositories (and the database layer, entities and
    // migrations) reach TypeORM, EntityTable or SQL. Services open transactions through Database.
    files: ['src/**/*.ts'],
    ignores: [
      'src/**/*.repository.ts',
      'src/**/*.entity.ts',
      'src/database/**',
      'src/**/*.spec.ts',
    ],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['typeorm', '@nestjs/typeorm'].map((name) => ({
            name,
            message:
              'Only repositories (*.repository.ts) and src/database/ use TypeORM; call a repository method.',
          })),
          patterns: [
            {
              group: ['typeorm/*', '@nestjs/typeorm/*'],
              message:
                'Only repositories (*.repository.ts) and src/database/ use TypeORM; call a repository method.',
            },
            {
              group: ['**/database/entity-table'],
              message:
                'Only repositories (*.repository.ts) use EntityTable; call a repository method.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['test/**/*.ts', 'src/**/*.spec.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/unbound-method': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['src/**/*.ts'],
    plugins: { boundaries },
    settings: {
      'import/resolver': { node: { extensions: ['.ts'] } },
      // In this order, 'src' (last) takes only the files no folder before it took.
      'boundaries/elements': LAYERS.map((names, index) => ({
        type: `layer ${index + 1}`,
        pattern: names.map((name) => (name === '.' ? 'src' : `src/${name}/**`)),
        partialMatch: false,
      })),
    },
    rules: {
      'boundaries/dependencies': [
        'error',
        {
          default: 'disallow',
          policies: LAYERS.map((_, index) => ({
            from: layer(index),
            allow: { to: LAYERS.slice(0, index + 1).map((__, lower) => layer(lower)) },
          })),
        },
      ],
    },
  },
  {
    // Only ConfigModule is global; every other module is imported where it is used.
    files: ['src/**/*.ts'],
    ignores: ['src/config/**'],
    rules: {
      'no-restricted-syntax': [
        'error',
        ...[
          "Decorator[expression.callee.name='Global']",
          "Property[key.name='global'][value.value=true]",
        ].map((selector) => ({
          selector,
          message: 'Only ConfigModule is global: import this module where it is used.',
        })),
      ],
    },
  },
);
