/**
 * A real sentinel-aware client (ioredis with `sentinels`, as the README tells users to connect)
 * that writes one point every `intervalMs` and records which writes Tile38 acknowledged, and when.
 * Each write has its own id, so a lost write is an acknowledged id the leader no longer holds.
 */
import Redis from "ioredis";
import { resp, RespValue } from "./resp";
import { sleep } from "./wait";

export interface Ack {
    id: string;
    /** When the write was sent and when it was acknowledged (ms since epoch). */
    sentAt: number;
    ackAt: number;
}

export interface WriterOptions {
    sentinels: { host: string; port: number }[];
    masterName: string;
    tile38Password: string;
    sentinelPassword: string;
    /** Collection the points go to. @default "fleet" */
    key?: string;
    /** Delay between two writes. @default 10 */
    intervalMs?: number;
}

/** The ioredis client as the README shows it, with failover-friendly timings. */
export function sentinelClient(o: WriterOptions): Redis {
    return new Redis({
        sentinels: o.sentinels,
        name: o.masterName,
        password: o.tile38Password,
        sentinelPassword: o.sentinelPassword,
        // Follow +switch-master at once instead of waiting for the old connection to fail.
        failoverDetector: true,
        connectTimeout: 1000,
        commandTimeout: 1000,
        maxRetriesPerRequest: 0,
        enableOfflineQueue: false,
        retryStrategy: () => 50,
        sentinelRetryStrategy: () => 50,
        // A node that is no longer (or not yet) the leader: ask the sentinels again.
        reconnectOnError: (err) => /not the leader|read only/.test(err.message),
        lazyConnect: false,
    });
}

export class PointWriter {
    readonly acks: Ack[] = [];
    errors = 0;
    private running = false;
    private loop: Promise<void> | undefined;
    private seq = 0;
    readonly client: Redis;
    readonly key: string;

    constructor(private readonly o: WriterOptions, private readonly prefix = "p") {
        this.client = sentinelClient(o);
        this.client.on("error", () => undefined);
        this.key = o.key ?? "fleet";
    }

    start(): void {
        this.running = true;
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        const interval = this.o.intervalMs ?? 10;
        while (this.running) {
            const id = `${this.prefix}${++this.seq}`;
            const sentAt = Date.now();
            const lat = 33 + (this.seq % 1000) / 1000;
            const lon = -112 + (this.seq % 997) / 1000;
            try {
                await this.client.call("SET", this.key, id, "POINT", String(lat), String(lon));
                this.acks.push({ id, sentAt, ackAt: Date.now() });
            } catch {
                this.errors++;
            }
            const wait = sentAt + interval - Date.now();
            if (wait > 0) await sleep(wait);
        }
    }

    /** Stops writing (waits for the write in flight). */
    async stop(): Promise<void> {
        this.running = false;
        await this.loop;
    }

    async close(): Promise<void> {
        await this.stop();
        this.client.disconnect();
    }

    /** The first acknowledgement of a write sent at or after `t`. */
    firstAckSentAfter(t: number): Ack | undefined {
        return this.acks.find((a) => a.sentAt >= t);
    }
}

/** Every id of `key` on the node at `port` (SCAN … IDS), or throws. */
export async function idsOn(port: number, password: string, key = "fleet"): Promise<Set<string>> {
    const r: RespValue = await resp(port, ["SCAN", key, "LIMIT", 10000000, "IDS"], password, { timeoutMs: 10000 });
    if (!Array.isArray(r) || !Array.isArray(r[1])) throw new Error(`SCAN ${key} IDS on port ${port} answered ${JSON.stringify(r)}`);
    return new Set((r[1] as RespValue[]).map(String));
}

/** Acknowledged writes (acknowledged before `before`, if given) that `ids` does not hold. */
export function lostWrites(acks: Ack[], ids: Set<string>, before = Infinity): Ack[] {
    return acks.filter((a) => a.ackAt < before && !ids.has(a.id));
}
