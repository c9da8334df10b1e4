// Three projects: unit (renderers, config, components under Pulumi mocks), integration (real
// tile38-server / redis-sentinel / S3-compatible server processes on loopback) and deploy (a real
// `pulumi up` against a Docker engine the suite starts).
const common = {
  preset: "ts-jest",
  testEnvironment: "node",
  transform: { "^.+\\.ts$": ["ts-jest", { tsconfig: "tsconfig.dev.json" }] },
};
module.exports = {
  projects: [
    { ...common, displayName: "unit", testMatch: ["<rootDir>/tests/unit/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/testing/jest/unitTimeout.ts"] },
    { ...common, displayName: "integration", testMatch: ["<rootDir>/tests/integration/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/testing/jest/serverTimeout.ts"] },
    { ...common, displayName: "deploy", testMatch: ["<rootDir>/tests/deploy/**/*.test.ts"], setupFilesAfterEnv: ["<rootDir>/testing/jest/serverTimeout.ts"] },
  ],
};
