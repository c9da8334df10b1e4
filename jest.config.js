// Two projects: unit (renderers, config, components under Pulumi mocks) and integration
// (real redis-sentinel / S3-compatible server processes on loopback).
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
};
module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/tests/integration/jestTimeout.ts"] },
  ],
};
