import Redis from "ioredis";

/** The ioredis client as docs/clients.md shows it: sentinels, passwords, failover-friendly timings. */
export function tile38Client(sentinels: { host: string; port: number }[], masterName: string, tile38Password: string, sentinelPassword: string): Redis {
    return new Redis({
        sentinels,
        name: masterName,
        password: tile38Password, // Tile38's requirepass
        sentinelPassword, // the sentinels' requirepass
        // Not ioredis' failoverDetector: with it, ioredis 5.8.2 ended the client for good
        // ("Connection is closed", status "end") in the third back-to-back failover.
        failoverDetector: false,
        connectTimeout: 1000,
        commandTimeout: 1000,
        // A leader cut off the network answers nothing and resets nothing: commandTimeout fails
        // the write but keeps the dead connection; this drops it, and ioredis asks the sentinels.
        socketTimeout: 1000,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => 50,
        sentinelRetryStrategy: () => 50,
        // A node that is no longer (or not yet) the leader: ask the sentinels again.
        reconnectOnError: (err) => /not the leader|read only/.test(err.message),
    });
}
