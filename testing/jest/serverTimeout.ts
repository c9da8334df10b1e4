// Jest 29 takes testTimeout only globally; integration tests start real servers and get more time.
jest.setTimeout(120_000);
