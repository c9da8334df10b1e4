// Unit tests run programs under Pulumi's mocks; on a shared 2-core machine (CI runs beside other
// jobs) a whole program's settle took over jest's 5 s default. Nothing here waits on a server.
jest.setTimeout(60_000);
