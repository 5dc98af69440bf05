/** One suite: unit specs beside the code, database suites in test/. See test/setup for the database. */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(libs|apps|test|scripts)/.*\\.(spec|e2e-spec)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/.matrix/'],
  // scripts/matrix.sh installs other package versions in .matrix/: never resolve modules there.
  modulePathIgnorePatterns: ['<rootDir>/.matrix/'],
  transform: { '^.+\\.[cm]?[tj]s$': '<rootDir>/test/setup/jest-transformer.js' },
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/)'],
  moduleNameMapper: {
    '^@app/tenancy/testing$': '<rootDir>/libs/tenancy/src/testing',
    '^@app/tenancy/transactional$': '<rootDir>/libs/tenancy/src/transactional',
    '^@app/tenancy$': '<rootDir>/libs/tenancy/src',
    '^@app/dev-postgres$': '<rootDir>/libs/dev-postgres/src',
    '^@app/demo-kit$': '<rootDir>/libs/demo-kit/src',
  },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60000,
};
