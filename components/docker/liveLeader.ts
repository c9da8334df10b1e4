import { RespError, respPipeline } from "../status/resp";
import { Endpoint } from "../render/topology";

/** An AUTH refusal of Redis (`WRONGPASS`, `ERR invalid password`) or of a server that has no password set. */
const WRONG_PASSWORD = /WRONGPASS|invalid password|invalid username-password|without any password configured|no password is set/i;

/**
 * One sentinel's answer to `SENTINEL GET-MASTER-ADDR-BY-NAME`: the leader it names; `refused`
 * when nothing listens there (the connection was refused: no sentinel runs at that address);
 * `wrong-password` when it refused `password` (a sentinel runs there with another one: the
 * password is being rotated); `unknown` for anything else (no answer within `timeoutMs`, another
 * error reply, no leader known, a network error): something may run there. Never throws.
 */
export async function askSentinel(sentinel: Endpoint, masterName: string, password: string, timeoutMs: number): Promise<Endpoint | "refused" | "wrong-password" | "unknown"> {
    try {
        const commands = [...(password ? [["AUTH", password]] : []), ["SENTINEL", "GET-MASTER-ADDR-BY-NAME", masterName]];
        const replies = await respPipeline(sentinel.port, commands, { host: sentinel.host, timeoutMs });
        if (password && replies[0] instanceof RespError && WRONG_PASSWORD.test(replies[0].message)) return "wrong-password";
        const addr = replies[replies.length - 1];
        if (replies.some((r) => r instanceof RespError) || !Array.isArray(addr) || addr.length !== 2) return "unknown";
        return { host: String(addr[0]), port: Number(addr[1]) };
    } catch (e) {
        return (e as NodeJS.ErrnoException).code === "ECONNREFUSED" ? "refused" : "unknown";
    }
}

/** What the running sentinels say when a `pulumi up` starts. */
export interface LiveCluster {
    /** How many sentinels named a leader. */
    answering: number;
    /**
     * How many refused the connection: nothing listens there. All of them refusing means the
     * cluster does not run (a new stack, or after `pulumi destroy`).
     */
    refused: number;
    /** How many refused the password asked with (a sentinel password rotation starts: see {@link sentinelPasswordRotating}). */
    wrongPassword?: number;
    /** The leader a majority of all sentinels names; undefined without such a majority. */
    leader?: Endpoint;
}

/**
 * Asks every sentinel (at once, each bounded by `timeoutMs`) which node leads. Used only to
 * order a rollout; a wrong or missing answer costs at most one more hand-over, never data (every
 * Tile38 node hands over on its own when it stops).
 */
export async function observeLiveCluster(sentinels: readonly Endpoint[], masterName: string, password: string, timeoutMs = 1500): Promise<LiveCluster> {
    const answers = await Promise.all(sentinels.map((s) => askSentinel(s, masterName, password, timeoutMs)));
    const named = answers.filter((a): a is Endpoint => typeof a === "object");
    const votes = new Map<string, number>();
    for (const a of named) votes.set(`${a.host}:${a.port}`, (votes.get(`${a.host}:${a.port}`) ?? 0) + 1);
    const majority = Math.floor(sentinels.length / 2) + 1;
    const seen = { answering: named.length, refused: answers.filter((a) => a === "refused").length, wrongPassword: answers.filter((a) => a === "wrong-password").length };
    for (const [key, count] of votes) {
        if (count >= majority) {
            const at = key.lastIndexOf(":");
            return { ...seen, leader: { host: key.slice(0, at), port: Number(key.slice(at + 1)) } };
        }
    }
    return seen;
}

/**
 * Whether the sentinels, asked with the sentinel password of this `pulumi up` before anything
 * changed, show that password being rotated: at least one refused it. Then the running
 * containers still hold the old one, and the Tile38 nodes roll before the sentinels (the
 * sentinels accept both passwords until they are replaced; see DockerTile38Cluster).
 */
export function sentinelPasswordRotating(before: LiveCluster | undefined): boolean {
    return (before?.wrongPassword ?? 0) > 0;
}
