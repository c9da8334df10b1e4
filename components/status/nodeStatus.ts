/** What a Tile38 node reports about itself, from one pipeline of SERVER and INFO replication. */
import { RespError, RespValue } from "./resp";

export interface NodeStatus {
    role: "master" | "slave";
    /** `host:port` it follows (followers only). */
    following?: string;
    caughtUp: boolean;
    caughtUpOnce: boolean;
    aofSize: number;
    numObjects: number;
    readOnly: boolean;
    /** `slave_priority` (followers only). */
    priority?: number;
}

/** The pipeline to send (with the cluster password); its replies go to {@link parseNodeStatus}. */
export function nodeStatusCommands(password: string): (string | number)[][] {
    return [["AUTH", password], ["OUTPUT", "json"], ["SERVER"], ["INFO", "replication"]];
}

/** The replies of {@link nodeStatusCommands} as a NodeStatus; undefined when the node refused. */
export function parseNodeStatus(replies: RespValue[]): NodeStatus | undefined {
    const [auth, , server, info] = replies;
    if (auth instanceof RespError || typeof server !== "string" || typeof info !== "string") return undefined;
    const s = JSON.parse(server) as { ok: boolean; stats?: Record<string, unknown> };
    const inf = (JSON.parse(info) as { info?: Record<string, unknown> }).info ?? {};
    if (!s.ok || !s.stats) return undefined;
    const st = s.stats;
    return {
        role: inf.role === "slave" ? "slave" : "master",
        following: typeof st.following === "string" ? st.following : undefined,
        caughtUp: st.caught_up === true,
        caughtUpOnce: st.caught_up_once === true,
        aofSize: Number(st.aof_size),
        numObjects: Number(st.num_objects),
        readOnly: st.read_only === true,
        priority: inf.slave_priority === undefined ? undefined : Number(inf.slave_priority),
    };
}

/** A node that answers as a leader taking writes: role master and not read-only. */
export function acceptsWrites(st: NodeStatus | undefined): boolean {
    return st?.role === "master" && !st.readOnly;
}
