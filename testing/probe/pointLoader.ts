/**
 * Writes many points through Tile38 quickly: a sentinel-aware ioredis client (as the README tells
 * users to connect) sending `SET <key> <id> POINT lat lon` in pipelines of `batch` commands, so one
 * round trip carries thousands of writes. Every reply is checked: a point counts as written only
 * when Tile38 acknowledged it.
 */
import Redis from "ioredis";

/** Options of {@link loadPoints}. */
export interface LoadOptions {
    /** Collection. @default "fleet" */
    key?: string;
    /** Id prefix: point `i` is `<prefix><i>`. @default "truck" */
    prefix?: string;
    /** First index. @default 0 */
    from?: number;
    /** SET commands per pipeline (one round trip). @default 5000 */
    batch?: number;
    /** At most this many SETs a second (paced per pipeline), e.g. fleet tracking's steady rate. @default unpaced */
    perSecond?: number;
    /** Called after every pipeline with the number of points written so far. */
    progress?: (written: number) => void;
}

/** The id of point `i`. */
export const pointId = (i: number, prefix = "truck") => `${prefix}${i}`;

/** Deterministic coordinates of point `i` around Phoenix, as strings with 6 decimals. */
export function pointCoords(i: number): [string, string] {
    return [(33 + (i % 10_000) / 10_000).toFixed(6), (-112 - Math.floor(i / 10_000) / 10_000).toFixed(6)];
}

/**
 * Writes points `from … from+n-1` through `client` (pipelines of `batch`); throws on the first
 * refused write. Returns the ids written, in order.
 */
export async function loadPoints(client: Redis, n: number, opts: LoadOptions = {}): Promise<string[]> {
    const key = opts.key ?? "fleet";
    const prefix = opts.prefix ?? "truck";
    const from = opts.from ?? 0;
    const batch = opts.batch ?? 5000;
    const ids: string[] = [];
    const began = Date.now();
    for (let start = from; start < from + n; start += batch) {
        if (opts.perSecond) {
            const due = began + ((start - from) / opts.perSecond) * 1000;
            if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
        }
        const end = Math.min(start + batch, from + n);
        const p = client.pipeline();
        for (let i = start; i < end; i++) {
            const [lat, lon] = pointCoords(i);
            p.call("SET", key, pointId(i, prefix), "POINT", lat, lon);
        }
        const replies = (await p.exec()) ?? [];
        if (replies.length !== end - start) throw new Error(`pipeline of ${end - start} SETs got ${replies.length} replies`);
        for (let i = 0; i < replies.length; i++) {
            const [err] = replies[i];
            if (err) throw new Error(`SET ${pointId(start + i, prefix)} was refused: ${err.message}`);
            ids.push(pointId(start + i, prefix));
        }
        opts.progress?.(ids.length);
    }
    return ids;
}

/** Where a sentinel-aware client finds the leader. */
export interface SentinelTarget {
    sentinels: { host: string; port: number }[];
    masterName: string;
    tile38Password: string;
    sentinelPassword: string;
}

/**
 * A sentinel-aware ioredis client for bulk writes: the README's connection (sentinels + master
 * name + both passwords) with generous timeouts, since one pipeline carries thousands of writes.
 */
export function bulkClient(t: SentinelTarget): Redis {
    const client = new Redis({
        sentinels: t.sentinels,
        name: t.masterName,
        password: t.tile38Password,
        sentinelPassword: t.sentinelPassword,
        connectTimeout: 5000,
        commandTimeout: 60_000,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => (times > 50 ? null : 100),
        sentinelRetryStrategy: (times) => (times > 50 ? null : 100),
    });
    client.on("error", () => undefined);
    return client;
}
