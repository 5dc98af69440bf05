/** One suite: unit specs beside the code, database suites in test/. See test/setup for the database. */
module.exports = {
  rootDir: '.',
  moduleFileExtensions: ['ts', 'js', 'json'],
  testRegex: '(libs|apps|test|scripts)/.*\\.(spec|e2e-spec)\\.ts$',
  testPathIgnorePatterns: ['/node_modules/', '/dist/', '<rootDir>/.matrix/'],
  // scripts/matrix.sh installs other package versions in .matrix/: never resolve modules there.
  modulePathIgnorePatterns: ['<rootDir>/.matrix/'],
  transform: { '^.+\\.[cm]?[tj]s$': '<rootDir>/test/setup/jest-transformer.js' },
  // Compiled to CommonJS (ESM only): @nestjs/*, and content-disposition (of @fastify/static, which
  // @nestjs/swagger loads to serve its UI on Fastify).
  transformIgnorePatterns: [
    '/node_modules/(?!(@nestjs|content-disposition)/)(?!.*/node_modules/(@nestjs|content-disposition)/)',
  ],
  moduleNameMapper: {
    '^@app/tenancy/testing$': '<rootDir>/libs/tenancy/src/testing',
    '^@app/tenancy/transactional$': '<rootDir>/libs/tenancy/src/transactional',
    '^@app/tenancy/graphql$': '<rootDir>/libs/tenancy/src/graphql',
    '^@app/tenancy/microservices$': '<rootDir>/libs/tenancy/src/microservices',
    '^@app/tenancy/jobs$': '<rootDir>/libs/tenancy/src/jobs',
    '^@app/tenancy$': '<rootDir>/libs/tenancy/src',
    '^@app/dev-postgres$': '<rootDir>/libs/dev-postgres/src',
    '^@app/demo-kit$': '<rootDir>/libs/demo-kit/src',
  },
  testEnvironment: 'node',
  globalSetup: '<rootDir>/test/setup/global-setup.ts',
  globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
  testTimeout: 60000,
};
