/**
 * A real sentinel-aware client (ioredis with `sentinels`, as the README tells users to connect)
 * that writes one point every `intervalMs` and records which writes Tile38 acknowledged, and when.
 * Each write has its own id, so a lost write is an acknowledged id the leader no longer holds.
 */
import Redis from "ioredis";
import { tile38Client } from "../clients/ioredis/tile38Client";
import { resp, RespValue } from "../../components/status/resp";
import { sleep } from "./wait";

export interface Ack {
    id: string;
    /** When the write was sent and when it was acknowledged (ms since epoch). */
    sentAt: number;
    ackAt: number;
}

/** A write that failed: the error, when it was sent and when it failed (ms since epoch). */
export interface WriteError {
    message: string;
    sentAt: number;
    at: number;
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
    /**
     * Write to this node only, never asking the sentinels (a client pinned to one address, as one
     * on the far side of a partition): what that node acknowledges, and when. @default sentinels
     */
    direct?: { host: string; port: number };
}

/** The ioredis client as the README shows it (testing/clients/ioredis/tile38Client.ts). */
export function sentinelClient(o: WriterOptions): Redis {
    return tile38Client(o.sentinels, o.masterName, o.tile38Password, o.sentinelPassword);
}

/** A client pinned to `o.direct`: fails fast, reconnects to that address only. */
function directClient(o: WriterOptions, to: { host: string; port: number }): Redis {
    return new Redis({ host: to.host, port: to.port, password: o.tile38Password, connectTimeout: 1000, commandTimeout: 1000, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50 });
}

function clientFor(o: WriterOptions): Redis {
    return o.direct ? directClient(o, o.direct) : sentinelClient(o);
}

/**
 * A write refused for its password: Tile38 answers `invalid password` to AUTH and `authentication
 * required` to anything sent without it; Redis (Sentinel) `WRONGPASS` / `NOAUTH`.
 */
export const PASSWORD_REFUSED = /invalid password|authentication required|WRONGPASS|NOAUTH/i;

/** Bound on one write, above ioredis' own commandTimeout (1 s). */
const CALL_BOUND_MS = 2500;

class CallHung extends Error {}

function bounded<T>(p: Promise<T>, ms: number): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new CallHung(`call still pending after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

export class PointWriter {
    readonly acks: Ack[] = [];
    errors = 0;
    /** The most recent distinct error messages (for failure reports). */
    readonly recentErrors: string[] = [];
    /** How often each error message was seen. */
    readonly errorCounts = new Map<string, number>();
    /** Every failed write: message, when it was sent and when it failed (ms since epoch). */
    readonly errorLog: WriteError[] = [];
    private running = false;
    private loop: Promise<void> | undefined;
    private seq = 0;
    client: Redis;
    /** Times a call hung past {@link CALL_BOUND_MS} and the client was replaced. */
    replacedClients = 0;
    readonly key: string;
    /** The passwords to switch to once the current ones are refused (a rotation), until then. */
    private nextPasswords?: { tile38Password: string; sentinelPassword: string };
    /** When the writer switched to the passwords of {@link expectRotation} (ms since epoch). */
    switchedAt?: number;

    constructor(private o: WriterOptions, private readonly prefix = "p") {
        this.client = clientFor(o);
        this.client.on("error", (e: Error) => this.clientError(e));
        this.key = o.key ?? "fleet";
    }

    start(): void {
        this.running = true;
        this.loop = this.run();
    }

    private async run(): Promise<void> {
        const interval = this.o.intervalMs ?? 10;
        while (this.running) {
            if (this.passwordRefused) this.switchPasswords();
            const id = `${this.prefix}${++this.seq}`;
            const sentAt = Date.now();
            const lat = 33 + (this.seq % 1000) / 1000;
            const lon = -112 + (this.seq % 997) / 1000;
            try {
                await bounded(this.client.call("SET", this.key, id, "POINT", String(lat), String(lon)), CALL_BOUND_MS);
                this.acks.push({ id, sentAt, ackAt: Date.now() });
            } catch (e) {
                if (e instanceof CallHung) this.replaceClient();
                else if (this.nextPasswords && PASSWORD_REFUSED.test((e as Error).message)) this.switchPasswords();
                this.errors++;
                this.errorLog.push({ message: (e as Error).message, sentAt, at: Date.now() });
                const msg = `${new Date().toISOString()} ${(e as Error).message}`;
                this.errorCounts.set((e as Error).message, (this.errorCounts.get((e as Error).message) ?? 0) + 1);
                if (this.recentErrors.length === 0 || !this.recentErrors[this.recentErrors.length - 1].endsWith((e as Error).message)) {
                    this.recentErrors.push(msg);
                    if (this.recentErrors.length > 20) this.recentErrors.shift();
                }
            }
            const wait = sentAt + interval - Date.now();
            if (wait > 0) await sleep(wait);
        }
    }

    /**
     * ioredis 5 can leave a call pending forever while it re-resolves the leader through the
     * sentinels (seen in back-to-back failovers): a call that hangs past the bound is abandoned
     * and the client replaced, as an application with a request deadline would do.
     */
    private replaceClient(): void {
        this.replacedClients++;
        this.client.disconnect();
        this.client = clientFor(this.o);
        this.client.on("error", (e: Error) => this.clientError(e));
    }

    /** ioredis reports a refused AUTH on (re)connect as an `error` event, and may only time the write out. */
    private passwordRefused = false;
    private clientError(e: Error): void {
        if (this.nextPasswords && PASSWORD_REFUSED.test(e.message)) this.passwordRefused = true;
    }

    /**
     * A password rotation is under way: once a write is refused for its password, the writer
     * connects again with these (what an application does when its secret store has a new
     * password and the old one is refused), and records when in {@link switchedAt}.
     */
    expectRotation(next: { tile38Password: string; sentinelPassword: string }): void {
        this.nextPasswords = next;
    }

    private switchPasswords(): void {
        this.o = { ...this.o, ...this.nextPasswords };
        this.nextPasswords = undefined;
        this.passwordRefused = false;
        this.switchedAt = Date.now();
        this.replaceClient();
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

/**
 * How close to a SIGKILL of the leader a write may be acknowledged and still go with it:
 * replication is asynchronous (Tile38 has no WAIT), so what the leader acknowledged in its last
 * instant may not have left for the followers yet.
 */
export const REPLICATION_WINDOW_MS = 100;

/** A leader's kill: when the kill order was given and when it returned (ms since epoch). */
export interface KillSpan {
    from: number;
    to: number;
}

/**
 * {@link lostWrites} split into those acknowledged within {@link REPLICATION_WINDOW_MS} of one of
 * `leaderKills` (ms since epoch, or the span of a kill order that takes a while, as `docker kill`
 * does), which may be gone, and the rest, which must not.
 */
export function lostAroundKills(acks: Ack[], ids: Set<string>, leaderKills: (number | KillSpan)[], before = Infinity): { lost: Ack[]; inWindow: Ack[] } {
    const spans = leaderKills.map((k) => (typeof k === "number" ? { from: k, to: k } : k));
    const near = (t: number) => spans.some((k) => t >= k.from - REPLICATION_WINDOW_MS && t <= k.to + REPLICATION_WINDOW_MS);
    const all = lostWrites(acks, ids, before);
    return { lost: all.filter((a) => !near(a.ackAt)), inWindow: all.filter((a) => near(a.ackAt)) };
}

/**
 * How long after a compaction's swap the followers may still lack what the leader acknowledged:
 * Tile38 closes its followers' links when AOFSHRINK ends (aofshrink.go), and each reconnects,
 * checks its AOF against the new file and fetches it (the scale bench's churn: 26 writes, the
 * last 256 ms before a kill that came just after a swap). The known cost of compaction
 * (docs/operations.md, "AOF compaction").
 */
export const AFTER_COMPACTION_WINDOW_MS = 5000;

/**
 * Of `lost` (writes no node kept), those acknowledged after a compaction's swap (ms since epoch,
 * the sample before the leader's AOF was seen smaller) and up to a kill of the leader that came
 * within {@link AFTER_COMPACTION_WINDOW_MS} of that swap (the kill's own replication window
 * included); the rest stay losses.
 */
export function lostAfterCompactions(lost: Ack[], swaps: number[], leaderKills: (number | KillSpan)[]): { lost: Ack[]; afterCompaction: Ack[] } {
    const spans = leaderKills.map((k) => (typeof k === "number" ? { from: k, to: k } : k));
    const pairs = spans.flatMap((k) => swaps.filter((s) => s <= k.from && k.from - s <= AFTER_COMPACTION_WINDOW_MS).map((s) => ({ s, k })));
    const explained = (a: Ack) => pairs.some(({ s, k }) => a.ackAt >= s && a.ackAt <= k.to + REPLICATION_WINDOW_MS);
    return { lost: lost.filter((a) => !explained(a)), afterCompaction: lost.filter(explained) };
}

