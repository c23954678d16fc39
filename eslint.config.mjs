import js from '@eslint/js';
import tseslint from 'typescript-eslint';

// Architecture rules live here so a tool, not a reviewer, keeps them:
// apps never import each other, and libs/domain stays free of I/O.
const ioPackages = ['pg', 'kafkajs', 'amqplib', 'ioredis', 'express', '@grpc/grpc-js', 'node:fs', 'fs', 'node:net', 'net', 'node:http', 'http'];

export default tseslint.config(
  { ignores: ['**/node_modules/**', 'dist/**', 'var/**', 'libs/proto/src/gen/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        process: 'readonly',
        console: 'readonly',
        require: 'readonly',
        module: 'writable',
        __dirname: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        setImmediate: 'readonly',
        Buffer: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        fetch: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-require-imports': 'off',
    },
  },
  {
    // Tests read arbitrary JSON bodies; typing each response shape would add noise, not safety.
    files: ['e2e/**/*.ts', '**/*.test.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['apps/*/src/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/apps/*', '../../*/src/*', '@orderflow/orchestrator', '@orderflow/order', '@orderflow/inventory', '@orderflow/notification'],
              message: 'Apps talk over gRPC, Kafka and RabbitMQ, never by importing each other.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/domain/src/**/*.ts', 'apps/*/src/domain/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ioPackages.map((name) => ({ name, message: 'Domain code is pure: no I/O.' })),
          patterns: [{ group: ['@orderflow/*', '!@orderflow/domain'], message: 'Domain code depends on nothing but libs/domain.' }],
        },
      ],
    },
  },
);
