/** One jest run covers the whole repo; `jest <path>` narrows it (nx test targets do that). */
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  // node-pg-migrate and jose (under jwks-rsa) are ESM-only; jest's CommonJS runtime needs them compiled like our own sources.
  transform: { '^.+\\.ts$': swc, '/node_modules/(node-pg-migrate|jose)/.+\\.js$': swc },
  transformIgnorePatterns: ['/node_modules/(?!(node-pg-migrate|jose)/)'],
  moduleNameMapper: { '^@orderflow/([a-z-]+)$': '<rootDir>/libs/$1/src/index.ts' },
  testMatch: ['<rootDir>/{apps,libs}/*/src/**/*.test.ts', '<rootDir>/e2e/**/*.test.ts', '<rootDir>/tools/**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '/var/'],
  // Integration suites own their databases, topics and queues, so two workers can run side by side.
  maxWorkers: 2,
  testTimeout: 60_000,
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
  globalTeardown: '<rootDir>/libs/testing/src/global-teardown.ts',
  reporters: ['default', '<rootDir>/scripts/jest-summary-reporter.js'],
};
