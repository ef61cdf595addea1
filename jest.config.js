// Two projects: unit specs beside the code, e2e specs in test/ that boot the real app.
const common = {
  moduleFileExtensions: ['js', 'json', 'ts'],
  transform: {
    '^.+\\.ts$': 'ts-jest',
    '^.+\\.js$': `${__dirname}/test/helpers/esm-to-commonjs.js`,
  },
  // Dependencies that ship only ES modules; every other one is loaded as it is.
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|uuid)/)'],
  testEnvironment: 'node',
};

module.exports = {
  testTimeout: 60000,
  projects: [
    { ...common, displayName: 'unit', rootDir: 'src', testRegex: '.*\\.spec\\.ts$' },
    {
      ...common,
      displayName: 'e2e',
      rootDir: 'test',
      testRegex: '.*\\.e2e-spec\\.ts$',
    },
  ],
};
