/**
 * When a fault took effect, seen from outside: the node is PINGed over one connection every few
 * milliseconds while the fault is made, and the moment the last answered PING was *sent* is when
 * it stopped serving (a lower bound: a time measured from it is never understated). It leaves out
 * the harness's own work before the fault lands — `docker kill`'s and `docker pause`'s CLI, a
 * pod's lookup at the API server (0.1-0.6 s on a loaded machine) — which is no part of a failover.
 */
import Redis from "ioredis";
import { Endpoint } from "../../components/render/topology";
import { sleep } from "./wait";

/** A PING left unanswered this long counts as the node gone. */
const PING_TIMEOUT_MS = 300;
/** Pause between PINGs. */
const PING_GAP_MS = 5;
/** A node still answering this long after the fault was made: the fault did not take effect. */
const STILL_SERVING_MS = 5000;

/** When a fault was made (ms since the epoch). */
export interface FaultTimes {
    /** The send time of the last PING the node answered (the time the fault was ordered when it answered none). */
    lastAnswerAt: number;
    /** When the call that made the fault returned. */
    madeAt: number;
}

/**
 * Runs `fault` against the node at `node` while pinging it. Throws when the node still answers
 * {@link STILL_SERVING_MS} after `fault` resolved.
 */
export async function lastAnswerBefore(node: Endpoint, password: string, fault: () => Promise<void>): Promise<FaultTimes> {
    const client = new Redis({
        host: node.host,
        port: node.port,
        password,
        lazyConnect: true,
        enableReadyCheck: false,
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        retryStrategy: () => null,
        connectTimeout: 2000,
        commandTimeout: PING_TIMEOUT_MS,
    });
    client.on("error", () => undefined);
    try {
        let last = Date.now();
        try {
            await client.connect();
            await client.ping();
        } catch {
            await fault();
            return { lastAnswerAt: last, madeAt: Date.now() };
        }
        let gone = false;
        let madeAt: number | undefined;
        const pinger = (async () => {
            while (madeAt === undefined || Date.now() - madeAt < STILL_SERVING_MS) {
                const sent = Date.now();
                try {
                    await client.ping();
                    last = sent;
                } catch {
                    gone = true;
                    return;
                }
                await sleep(PING_GAP_MS);
            }
        })();
        try {
            await fault();
        } finally {
            madeAt = Date.now();
        }
        await pinger;
        if (!gone) throw new Error(`${node.host}:${node.port} still answered PING ${STILL_SERVING_MS} ms after the fault was made`);
        return { lastAnswerAt: last, madeAt: madeAt! };
    } finally {
        client.disconnect();
    }
}
